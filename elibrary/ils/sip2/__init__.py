"""SIP2 (3M Standard Interchange Protocol 2.00): wire client, vendor dialects as data, and the connector."""
