"""The operator report: figures from the statistics, as text and as one HTML file."""
