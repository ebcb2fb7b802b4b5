"""LINE: card linking (LINE連携), the signed-in launch from LINE, notices by LINE push, the webhook."""
