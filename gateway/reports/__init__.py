"""Access reports for people and tools: the access report, who-can, the access matrix,
and the text tables and CSV they are printed as.
"""
