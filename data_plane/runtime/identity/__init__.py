"""Client authentication with identity-provider tokens: JWTs checked against cached JWKS, opaque
tokens introspected (RFC 7662). Import the submodules; the authenticate stage uses
``verifier.IdentityVerifier``."""
