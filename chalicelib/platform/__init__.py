"""What every domain builds on: settings, errors, crypto, AWS clients, DynamoDB plumbing, mail,
templates, the clock, text checks, logging and metrics. Imports nothing above it."""
import sys

# botocore imports urllib3's pyOpenSSL adapter only to reach the standard library's SSLContext
# that the adapter keeps a reference to. pyOpenSSL is installed (py_webauthn needs it), so that
# import would load OpenSSL and cryptography into every container on its first DynamoDB call,
# ~50-90 ms of cold start for nothing: without the adapter botocore takes the same class from
# urllib3 itself. The passkey ceremonies still import pyOpenSSL directly when they run.
sys.modules.setdefault("urllib3.contrib.pyopenssl", None)
