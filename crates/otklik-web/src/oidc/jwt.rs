//! ID token verification: a compact JWS signed RS256 with a key of the provider's JWKS, and
//! its claims (issuer, audience, expiry, issue time, nonce).

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::OidcError;

/// Longest ID token accepted, bytes.
pub const MAX_ID_TOKEN_BYTES: usize = 16 * 1024;

/// One key of a JSON Web Key Set (only RSA keys are used).
#[derive(Debug, Clone, Deserialize)]
pub struct Jwk {
    /// Key type («RSA»).
    pub kty: String,
    /// Key id.
    #[serde(default)]
    pub kid: Option<String>,
    /// Intended use («sig»).
    #[serde(default, rename = "use")]
    pub use_: Option<String>,
    /// Algorithm («RS256»).
    #[serde(default)]
    pub alg: Option<String>,
    /// Modulus, base64url.
    #[serde(default)]
    pub n: Option<String>,
    /// Exponent, base64url.
    #[serde(default)]
    pub e: Option<String>,
}

/// The provider's key set.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// The RSA signing keys usable for RS256, matching `kid` when the token names one.
    fn candidates<'a>(&'a self, kid: Option<&'a str>) -> impl Iterator<Item = &'a Jwk> + 'a {
        self.keys.iter().filter(move |k| {
            k.kty == "RSA"
                && k.use_.as_deref().is_none_or(|u| u == "sig")
                && k.alg.as_deref().is_none_or(|a| a == "RS256")
                && kid.is_none_or(|kid| k.kid.as_deref() == Some(kid))
        })
    }

    /// Does the set hold a key for `kid`?
    pub fn has_kid(&self, kid: Option<&str>) -> bool {
        self.candidates(kid).next().is_some()
    }
}

#[derive(Debug, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// `aud` is a string or an array of strings.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
struct RawClaims {
    iss: String,
    sub: String,
    aud: Audience,
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    given_name: Option<String>,
    #[serde(default)]
    family_name: Option<String>,
    #[serde(default)]
    middle_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<bool>,
}

/// The verified claims of an ID token that Otklik uses.
#[derive(Clone, PartialEq, Eq)]
pub struct IdClaims {
    /// The subject (the citizen's identifier at the provider; never stored as such).
    pub subject: String,
    /// Full name: `name`, or family, given and middle names joined.
    pub full_name: String,
    /// E-mail, unless the provider says it is unverified.
    pub email: Option<String>,
}

impl std::fmt::Debug for IdClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdClaims")
            .field("subject", &"***")
            .field("full_name", &self.full_name)
            .finish_non_exhaustive()
    }
}

/// What the token must say.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The provider's issuer identifier, exactly.
    pub issuer: &'a str,
    /// Our client id (the audience).
    pub client_id: &'a str,
    /// The nonce sent with the authorization request.
    pub nonce: &'a str,
    /// Now, seconds since the epoch.
    pub now_secs: i64,
    /// Allowed clock difference, seconds.
    pub leeway_secs: i64,
}

fn b64(part: &str) -> Result<Vec<u8>, OidcError> {
    URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('=').as_bytes())
        .map_err(|_| OidcError::MalformedToken("bad base64url".into()))
}

/// The `kid` of a token's header, without verifying anything (to pick or refresh keys).
pub fn token_kid(token: &str) -> Result<Option<String>, OidcError> {
    let header = token
        .split('.')
        .next()
        .ok_or_else(|| OidcError::MalformedToken("no header".into()))?;
    let header: Header = serde_json::from_slice(&b64(header)?)
        .map_err(|e| OidcError::MalformedToken(format!("header: {e}")))?;
    Ok(header.kid)
}

/// Verifies `token`'s signature against `jwks` and its claims against `expected`.
pub fn verify_id_token(
    token: &str,
    jwks: &Jwks,
    expected: &Expected<'_>,
) -> Result<IdClaims, OidcError> {
    if token.len() > MAX_ID_TOKEN_BYTES {
        return Err(OidcError::MalformedToken("too long".into()));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(OidcError::MalformedToken(
            "not three dot-separated parts".into(),
        ));
    };
    let header: Header = serde_json::from_slice(&b64(h)?)
        .map_err(|e| OidcError::MalformedToken(format!("header: {e}")))?;
    // Only RS256: «none», HMAC with the public key as secret and the rest are refused.
    if header.alg != "RS256" {
        return Err(OidcError::UnsupportedAlgorithm(
            header.alg.chars().take(20).collect(),
        ));
    }
    let signature = b64(s)?;
    let signed = &token.as_bytes()[..h.len() + 1 + p.len()];
    let mut verified = false;
    let mut any_key = false;
    for key in jwks.candidates(header.kid.as_deref()) {
        let (Some(n), Some(e)) = (key.n.as_deref(), key.e.as_deref()) else {
            continue;
        };
        let (n, e) = (b64(n)?, b64(e)?);
        any_key = true;
        let public = RsaPublicKeyComponents { n: &n, e: &e };
        if public
            .verify(&RSA_PKCS1_2048_8192_SHA256, signed, &signature)
            .is_ok()
        {
            verified = true;
            break;
        }
    }
    if !any_key {
        return Err(OidcError::UnknownKey);
    }
    if !verified {
        return Err(OidcError::BadSignature);
    }
    let claims: RawClaims = serde_json::from_slice(&b64(p)?)
        .map_err(|e| OidcError::MalformedToken(format!("claims: {e}")))?;
    if claims.iss != expected.issuer {
        return Err(OidcError::WrongIssuer);
    }
    let audience_ok = match &claims.aud {
        Audience::One(a) => a == expected.client_id,
        Audience::Many(list) => {
            list.iter().any(|a| a == expected.client_id)
                && (list.len() == 1 || claims.azp.as_deref() == Some(expected.client_id))
        }
    };
    if !audience_ok {
        return Err(OidcError::WrongAudience);
    }
    if claims.exp + expected.leeway_secs < expected.now_secs {
        return Err(OidcError::Expired);
    }
    if claims
        .iat
        .is_some_and(|iat| iat > expected.now_secs + expected.leeway_secs)
    {
        return Err(OidcError::IssuedInFuture);
    }
    let nonce_ok = claims
        .nonce
        .as_deref()
        .is_some_and(|n| crate::auth::same_secret(n, expected.nonce));
    if !nonce_ok {
        return Err(OidcError::WrongNonce);
    }
    if claims.sub.is_empty() || claims.sub.len() > 255 {
        return Err(OidcError::MalformedToken("bad subject".into()));
    }
    let full_name = claims
        .name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| {
            [&claims.family_name, &claims.given_name, &claims.middle_name]
                .into_iter()
                .flatten()
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        });
    let email = claims
        .email
        .filter(|e| e.contains('@') && claims.email_verified != Some(false));
    Ok(IdClaims {
        subject: claims.sub,
        full_name,
        email,
    })
}
