"""The options sleeve in the graph: daily vol surfaces and their quote QC table."""
