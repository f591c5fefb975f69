"""What every domain builds on: settings, errors, crypto, AWS clients, DynamoDB plumbing, mail,
templates, the clock, text checks, logging and metrics. Imports nothing above it."""
