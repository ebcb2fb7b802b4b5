"""The digital library card (デジタル利用者カード): NW-7 (Codabar) barcodes and the check-digit rules of Japanese ILSs."""
