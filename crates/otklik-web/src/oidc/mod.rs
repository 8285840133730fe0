//! OpenID Connect sign-in of citizens (the federal ЕСИА speaks an OIDC-like protocol; regional
//! identity providers speak OIDC): the authorization-code flow with PKCE (S256), `state` and
//! `nonce`, against one configured provider.
//!
//! * [`OidcSettings`] is what the configuration names: the issuer, the client id and secret
//!   (hidden from `Debug`), the redirect URL, and either every endpoint or none — then they
//!   come from the provider's discovery document `ISSUER/.well-known/openid-configuration`
//!   ([`OidcClient::connect`]).
//! * [`OidcClient::authorization_url`] builds the redirect to the provider;
//!   [`OidcClient::finish`] exchanges the code (with the PKCE verifier) at the token endpoint
//!   and verifies the ID token ([`jwt::verify_id_token`]): RS256 signature with a key of the
//!   provider's JWKS (fetched once, refetched when a token names an unknown key, at most once a
//!   minute), issuer, audience, expiry, nonce.
//! * [`OidcClient::subject_hash`] turns the subject into what the store keeps: HMAC-SHA256
//!   with the configured subject key, or SHA-256 without one.
//!
//! With the `testing` feature, [`testing::FakeProvider`] is a provider on loopback for tests.

pub mod jwt;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::RwLock;

pub use jwt::{IdClaims, Jwk, Jwks};

/// Why a sign-in through the identity provider failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OidcError {
    /// The settings are incomplete or wrong.
    #[error("OIDC settings: {0}")]
    Config(String),
    /// The provider could not be reached or answered with an error.
    #[error("identity provider: {0}")]
    Provider(String),
    /// The ID token is not a well-formed JWS.
    #[error("malformed ID token: {0}")]
    MalformedToken(String),
    /// The token is signed with another algorithm than RS256.
    #[error("ID token algorithm {0:?} is not accepted (RS256 only)")]
    UnsupportedAlgorithm(String),
    /// No key of the provider's JWKS matches the token.
    #[error("no key of the provider matches the ID token")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the ID token's signature is invalid")]
    BadSignature,
    /// Issued by someone else.
    #[error("the ID token was issued by another issuer")]
    WrongIssuer,
    /// Issued for another client.
    #[error("the ID token is for another client")]
    WrongAudience,
    /// Past its expiry.
    #[error("the ID token has expired")]
    Expired,
    /// Issued in the future (clocks disagree).
    #[error("the ID token is issued in the future")]
    IssuedInFuture,
    /// The nonce is not the one of this sign-in (replayed token).
    #[error("the ID token's nonce does not match this sign-in")]
    WrongNonce,
}

impl OidcError {
    /// What to tell the citizen (Russian).
    pub fn message_ru(&self) -> &'static str {
        match self {
            OidcError::Config(_) | OidcError::Provider(_) => {
                "Служба входа (ЕСИА) сейчас недоступна. Попробуйте войти позже."
            }
            OidcError::Expired | OidcError::IssuedInFuture => {
                "Срок действия подтверждения входа истёк. Войдите заново."
            }
            OidcError::WrongNonce => {
                "Подтверждение входа не относится к этой попытке входа (возможна повторная отправка). Войдите заново."
            }
            _ => {
                "Подтверждение входа от службы ЕСИА не прошло проверку подлинности. Вход не выполнен — попробуйте ещё раз."
            }
        }
    }
}

/// A secret string shown as `***` in `Debug`.
#[derive(Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// The configured identity provider (e.g. a `[citizen_oidc]` table of the server's config).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    /// Short name kept with every identity (`esia`); ASCII letters, digits, `-_.`.
    #[serde(default = "default_provider")]
    pub provider: String,
    /// Name on the sign-in button («Госуслуги»).
    #[serde(default = "default_display_name")]
    pub display_name: String,
    /// The issuer identifier: the `iss` of ID tokens and the base of the discovery document.
    pub issuer: String,
    /// Authorization endpoint (with the token endpoint and JWKS URI, or none of them: then
    /// discovery).
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// Token endpoint.
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// JWKS URI.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// UserInfo endpoint: asked for the name and e-mail when the ID token lacks them.
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    /// Our client id at the provider.
    pub client_id: String,
    /// Our client secret (sent as `client_secret` in the token request), if the provider
    /// gave one.
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// Where the provider sends the browser back: `https://OTKLIK/citizen/callback`.
    pub redirect_url: String,
    /// Scopes asked for (default `openid profile email`).
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// Key of the HMAC that hides subjects in the database (32+ bytes; keep it stable). Without
    /// one the store keeps SHA-256 of provider and subject.
    #[serde(default)]
    pub subject_key: Option<Secret>,
    /// Allowed clock difference with the provider, seconds (default 60).
    #[serde(default = "default_leeway")]
    pub leeway_secs: i64,
}

fn default_provider() -> String {
    "esia".into()
}
fn default_display_name() -> String {
    "Госуслуги".into()
}
fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "profile".into(), "email".into()]
}
fn default_leeway() -> i64 {
    60
}

impl OidcSettings {
    /// Settings with the defaults for everything but the essentials (endpoints by discovery).
    pub fn new(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Option<Secret>,
        redirect_url: impl Into<String>,
    ) -> Self {
        Self {
            provider: default_provider(),
            display_name: default_display_name(),
            issuer: issuer.into(),
            authorization_endpoint: None,
            token_endpoint: None,
            jwks_uri: None,
            userinfo_endpoint: None,
            client_id: client_id.into(),
            client_secret,
            redirect_url: redirect_url.into(),
            scopes: default_scopes(),
            subject_key: None,
            leeway_secs: default_leeway(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
    #[serde(default)]
    code_challenge_methods_supported: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
struct Endpoints {
    authorization: String,
    token: String,
    jwks: String,
    userinfo: Option<String>,
}

/// A PKCE pair: the verifier (secret, sent with the code) and its S256 challenge.
#[derive(Clone)]
pub struct Pkce {
    /// 43 base64url characters of 32 random bytes.
    pub verifier: String,
    /// base64url(SHA-256(verifier)).
    pub challenge: String,
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce")
            .field("verifier", &"***")
            .field("challenge", &self.challenge)
            .finish()
    }
}

impl Pkce {
    /// A fresh random pair.
    pub fn generate() -> Result<Self, OidcError> {
        let mut buf = [0u8; 32];
        getrandom::fill(&mut buf).map_err(|e| OidcError::Config(format!("randomness: {e}")))?;
        let verifier = URL_SAFE_NO_PAD.encode(buf);
        Ok(Self {
            challenge: s256(&verifier),
            verifier,
        })
    }
}

/// The S256 challenge of a PKCE verifier.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct UserInfo {
    sub: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

/// A client of the configured provider (cheap to clone).
#[derive(Clone)]
pub struct OidcClient {
    settings: Arc<OidcSettings>,
    endpoints: Arc<Endpoints>,
    http: reqwest::Client,
    jwks: Arc<RwLock<(Jwks, Option<Instant>)>>,
}

impl std::fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcClient")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn check_url(what: &str, url: &str) -> Result<(), OidcError> {
    let local = url.starts_with("http://127.")
        || url.starts_with("http://localhost")
        || url.starts_with("http://[::1]");
    if url.starts_with("https://") || local {
        Ok(())
    } else {
        Err(OidcError::Config(format!(
            "{what} must be an https:// URL (plain http only on loopback), not {url:?}"
        )))
    }
}

impl OidcClient {
    /// Checks the settings and, when the endpoints are not all given, reads them from the
    /// provider's discovery document (whose `issuer` must be the configured one).
    pub async fn connect(settings: OidcSettings) -> Result<Self, OidcError> {
        if settings.client_id.trim().is_empty() {
            return Err(OidcError::Config("client_id is empty".into()));
        }
        let ok_name = !settings.provider.is_empty()
            && settings.provider.len() <= otklik_store::MAX_PROVIDER_CHARS
            && settings
                .provider
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok_name {
            return Err(OidcError::Config(format!(
                "provider {:?}: ASCII letters, digits, - _ . (at most 40)",
                settings.provider
            )));
        }
        if settings
            .subject_key
            .as_ref()
            .is_some_and(|k| k.expose().len() < 32)
        {
            return Err(OidcError::Config(
                "subject_key must be at least 32 bytes".into(),
            ));
        }
        check_url("issuer", &settings.issuer)?;
        check_url("redirect_url", &settings.redirect_url)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OidcError::Config(format!("HTTP client: {e}")))?;
        let endpoints = match (
            &settings.authorization_endpoint,
            &settings.token_endpoint,
            &settings.jwks_uri,
        ) {
            (Some(a), Some(t), Some(j)) => Endpoints {
                authorization: a.clone(),
                token: t.clone(),
                jwks: j.clone(),
                userinfo: settings.userinfo_endpoint.clone(),
            },
            (None, None, None) => {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    settings.issuer.trim_end_matches('/')
                );
                let d: Discovery = get_json(&http, &url).await?;
                if d.issuer != settings.issuer {
                    return Err(OidcError::Config(format!(
                        "the discovery document names issuer {:?}, configured {:?}",
                        d.issuer, settings.issuer
                    )));
                }
                if d.code_challenge_methods_supported
                    .as_ref()
                    .is_some_and(|m| !m.iter().any(|m| m == "S256"))
                {
                    return Err(OidcError::Config(
                        "the provider does not support PKCE S256".into(),
                    ));
                }
                Endpoints {
                    authorization: d.authorization_endpoint,
                    token: d.token_endpoint,
                    jwks: d.jwks_uri,
                    userinfo: settings.userinfo_endpoint.clone().or(d.userinfo_endpoint),
                }
            }
            _ => {
                return Err(OidcError::Config(
                    "give authorization_endpoint, token_endpoint and jwks_uri together, or none (discovery)"
                        .into(),
                ));
            }
        };
        for (what, url) in [
            ("authorization_endpoint", &endpoints.authorization),
            ("token_endpoint", &endpoints.token),
            ("jwks_uri", &endpoints.jwks),
        ] {
            check_url(what, url)?;
        }
        Ok(Self {
            settings: Arc::new(settings),
            endpoints: Arc::new(endpoints),
            http,
            jwks: Arc::new(RwLock::new((Jwks::default(), None))),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// The provider's short name.
    pub fn provider(&self) -> &str {
        &self.settings.provider
    }

    /// Where to send the browser: the authorization endpoint with our client id, redirect
    /// URL, scopes, `state`, `nonce` and the PKCE challenge (S256).
    pub fn authorization_url(&self, state: &str, nonce: &str, pkce: &Pkce) -> String {
        let scope = self.settings.scopes.join(" ");
        let query = serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", self.settings.client_id.as_str()),
            ("redirect_uri", self.settings.redirect_url.as_str()),
            ("scope", scope.as_str()),
            ("state", state),
            ("nonce", nonce),
            ("code_challenge", pkce.challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .unwrap_or_default();
        let sep = if self.endpoints.authorization.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{sep}{query}", self.endpoints.authorization)
    }

    /// Exchanges `code` for tokens and verifies the ID token against `nonce`; fills a missing
    /// name or e-mail from the UserInfo endpoint when there is one.
    pub async fn finish(
        &self,
        code: &str,
        code_verifier: &str,
        nonce: &str,
        now_secs: i64,
    ) -> Result<IdClaims, OidcError> {
        let s = &self.settings;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", s.redirect_url.as_str()),
            ("client_id", s.client_id.as_str()),
            ("code_verifier", code_verifier),
        ];
        if let Some(secret) = &s.client_secret {
            form.push(("client_secret", secret.expose()));
        }
        let res = self
            .http
            .post(&self.endpoints.token)
            .header("accept", "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| OidcError::Provider(format!("token endpoint: {e}")))?;
        let status = res.status();
        let body = res
            .bytes()
            .await
            .map_err(|e| OidcError::Provider(format!("token endpoint: {e}")))?;
        let tokens: TokenResponse = serde_json::from_slice(&body).map_err(|_| {
            OidcError::Provider(format!("token endpoint answered {status} without JSON"))
        })?;
        if let Some(err) = tokens.error {
            return Err(OidcError::Provider(format!(
                "token endpoint refused: {}",
                err.chars().take(100).collect::<String>()
            )));
        }
        let id_token = tokens
            .id_token
            .ok_or_else(|| OidcError::Provider(format!("no id_token in the answer ({status})")))?;
        let kid = jwt::token_kid(&id_token)?;
        let jwks = self.keys_for(kid.as_deref()).await?;
        let expected = jwt::Expected {
            issuer: &s.issuer,
            client_id: &s.client_id,
            nonce,
            now_secs,
            leeway_secs: s.leeway_secs,
        };
        let mut claims = jwt::verify_id_token(&id_token, &jwks, &expected)?;
        if (claims.full_name.is_empty() || claims.email.is_none())
            && let (Some(url), Some(access)) = (&self.endpoints.userinfo, &tokens.access_token)
        {
            match self.userinfo(url, access).await {
                Ok(info) if info.sub == claims.subject => {
                    if claims.full_name.is_empty() {
                        claims.full_name = info.name.unwrap_or_default();
                    }
                    if claims.email.is_none() {
                        claims.email = info.email.filter(|e| e.contains('@'));
                    }
                }
                Ok(_) => tracing::warn!("userinfo names another subject: ignored"),
                Err(e) => tracing::warn!(error = %e, "userinfo unavailable"),
            }
        }
        Ok(claims)
    }

    async fn userinfo(&self, url: &str, access: &str) -> Result<UserInfo, OidcError> {
        let res = self
            .http
            .get(url)
            .bearer_auth(access)
            .send()
            .await
            .map_err(|e| OidcError::Provider(format!("userinfo: {e}")))?;
        res.json()
            .await
            .map_err(|e| OidcError::Provider(format!("userinfo: {e}")))
    }

    /// The JWKS, refetched when it has no key for `kid` (at most once a minute) or was never
    /// fetched.
    async fn keys_for(&self, kid: Option<&str>) -> Result<Jwks, OidcError> {
        {
            let cached = self.jwks.read().await;
            let fresh = cached
                .1
                .is_some_and(|t| t.elapsed() < Duration::from_secs(60));
            if cached.0.has_kid(kid) || (fresh && cached.1.is_some()) {
                return Ok(cached.0.clone());
            }
        }
        let fetched: Jwks = get_json(&self.http, &self.endpoints.jwks).await?;
        let mut cached = self.jwks.write().await;
        *cached = (fetched.clone(), Some(Instant::now()));
        Ok(fetched)
    }

    /// What the store keeps of `subject`: hex HMAC-SHA256(subject key, provider ‖ 0 ‖
    /// subject), or SHA-256 of the same without a key.
    pub fn subject_hash(&self, subject: &str) -> String {
        subject_hash(
            self.settings
                .subject_key
                .as_ref()
                .map(|k| k.expose().as_bytes()),
            &self.settings.provider,
            subject,
        )
    }
}

/// See [`OidcClient::subject_hash`].
pub fn subject_hash(key: Option<&[u8]>, provider: &str, subject: &str) -> String {
    let bytes: Vec<u8> = match key {
        Some(key) => {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
                .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
            mac.update(provider.as_bytes());
            mac.update(&[0]);
            mac.update(subject.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        None => {
            let mut h = Sha256::new();
            h.update(provider.as_bytes());
            h.update([0u8]);
            h.update(subject.as_bytes());
            h.finalize().to_vec()
        }
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
) -> Result<T, OidcError> {
    let res = http
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| OidcError::Provider(format!("{url}: {e}")))?;
    if !res.status().is_success() {
        return Err(OidcError::Provider(format!("{url}: {}", res.status())));
    }
    res.json()
        .await
        .map_err(|e| OidcError::Provider(format!("{url}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_is_s256_of_the_verifier() {
        // Computed independently (Python: urlsafe_b64encode(sha256(v).digest()) without '=').
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gXk-fEjXk"),
            "aG-5ZL4Jxyv6Adw-xvJkCsQts0LW5DITdISa2heZ0Mw"
        );
        let p = Pkce::generate().expect("random");
        assert_eq!(p.verifier.len(), 43);
        assert_eq!(p.challenge, s256(&p.verifier));
        assert!(!format!("{p:?}").contains(&p.verifier));
    }

    #[test]
    fn subjects_are_hashed_per_provider_and_key() {
        let a = subject_hash(None, "esia", "1000123");
        assert_eq!(a.len(), 64);
        assert_ne!(a, subject_hash(None, "test", "1000123"));
        assert_ne!(a, subject_hash(Some(&[1u8; 32]), "esia", "1000123"));
        assert_eq!(a, subject_hash(None, "esia", "1000123"));
        // The separator keeps «es»+«ia1» apart from «esia»+«1».
        assert_ne!(
            subject_hash(None, "es", "ia1"),
            subject_hash(None, "esi", "a1")
        );
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let mut s = OidcSettings::new(
            "https://esia.example",
            "otklik",
            Some(Secret::new("very-secret")),
            "https://otklik.example/citizen/callback",
        );
        s.subject_key = Some(Secret::new("k".repeat(32)));
        let text = format!("{s:?}");
        assert!(!text.contains("very-secret"));
        assert!(!text.contains("kkkk"));
    }
}
