"""Dataset readers (Market-1501, MARS, folder per identity) and the synthetic generator."""
