//! A fake OpenID Connect provider on loopback for tests (feature `testing`): discovery, an
//! authorization endpoint that signs the configured citizen in at once and redirects back with
//! a code, a token endpoint that checks the code, redirect URI, client and PKCE verifier and
//! issues an RS256-signed ID token, a JWKS and a UserInfo endpoint. [`Misbehave`] makes it
//! issue tokens a real client must refuse.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::json;

use super::{OidcSettings, Secret, s256};

/// The client id the fake provider knows.
pub const CLIENT_ID: &str = "otklik-test";
/// Its client secret.
pub const CLIENT_SECRET: &str = "test-client-secret";

/// Who signs in next.
#[derive(Debug, Clone)]
pub struct FakeCitizen {
    /// Subject.
    pub sub: String,
    /// `name` claim.
    pub name: String,
    /// `email` claim.
    pub email: Option<String>,
}

/// How the next ID token is spoiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Misbehave {
    /// A correct token.
    #[default]
    Nothing,
    /// Signed with another key under the published key id.
    BadSignature,
    /// Expired an hour ago.
    Expired,
    /// Another nonce than the one asked for.
    WrongNonce,
    /// Another audience.
    WrongAudience,
    /// Another issuer.
    WrongIssuer,
    /// `alg: none`, no signature.
    AlgNone,
}

struct Grant {
    nonce: String,
    challenge: String,
    redirect_uri: String,
    citizen: FakeCitizen,
}

struct Inner {
    issuer: String,
    key: KeyPair,
    rogue: KeyPair,
    citizen: Mutex<FakeCitizen>,
    misbehave: Mutex<Misbehave>,
    codes: Mutex<HashMap<String, Grant>>,
    tokens_issued: Mutex<u32>,
}

/// A provider serving on `127.0.0.1:PORT` until dropped.
pub struct FakeProvider {
    inner: Arc<Inner>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl std::fmt::Debug for FakeProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeProvider")
            .field("issuer", &self.inner.issuer)
            .finish()
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl FakeProvider {
    /// Starts on a free loopback port; the citizen «Иванова Мария Петровна» (subject
    /// `1000001`) signs in until [`FakeProvider::set_citizen`].
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let inner = Arc::new(Inner {
            issuer,
            key: KeyPair::generate(KeySize::Rsa2048).unwrap(),
            rogue: KeyPair::generate(KeySize::Rsa2048).unwrap(),
            citizen: Mutex::new(FakeCitizen {
                sub: "1000001".into(),
                name: "Иванова Мария Петровна".into(),
                email: Some("maria.ivanova@example.ru".into()),
            }),
            misbehave: Mutex::new(Misbehave::Nothing),
            codes: Mutex::new(HashMap::new()),
            tokens_issued: Mutex::new(0),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/jwks", get(jwks))
            .route("/userinfo", get(userinfo))
            .with_state(inner.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Self {
            inner,
            shutdown: Some(tx),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// Settings of a client of this provider (endpoints by discovery), redirecting to
    /// `redirect_url`.
    pub fn settings(&self, redirect_url: &str) -> OidcSettings {
        let mut s = OidcSettings::new(
            self.issuer(),
            CLIENT_ID,
            Some(Secret::new(CLIENT_SECRET)),
            redirect_url,
        );
        s.provider = "test".into();
        s.display_name = "Тестовый поставщик".into();
        s
    }

    /// Who signs in next.
    pub fn set_citizen(&self, citizen: FakeCitizen) {
        *self.inner.citizen.lock().unwrap() = citizen;
    }

    /// Spoils the next ID tokens.
    pub fn misbehave(&self, how: Misbehave) {
        *self.inner.misbehave.lock().unwrap() = how;
    }

    /// ID tokens issued so far.
    pub fn tokens_issued(&self) -> u32 {
        *self.inner.tokens_issued.lock().unwrap()
    }
}

async fn discovery(State(p): State<Arc<Inner>>) -> Json<serde_json::Value> {
    let i = &p.issuer;
    Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "userinfo_endpoint": format!("{i}/userinfo"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn jwks(State(p): State<Arc<Inner>>) -> Json<serde_json::Value> {
    let public = p.key.public_key();
    Json(json!({"keys": [{
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": "test-key-1",
        "n": b64(public.modulus().big_endian_without_leading_zero()),
        "e": b64(public.exponent().big_endian_without_leading_zero()),
    }]}))
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    response_type: String,
    client_id: String,
    redirect_uri: String,
    state: String,
    nonce: String,
    code_challenge: String,
    code_challenge_method: String,
    #[serde(default)]
    scope: String,
}

fn bad(msg: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": msg}))).into_response()
}

async fn authorize(State(p): State<Arc<Inner>>, Query(q): Query<AuthorizeQuery>) -> Response {
    if q.response_type != "code"
        || q.client_id != CLIENT_ID
        || q.code_challenge_method != "S256"
        || q.code_challenge.len() != 43
        || !q.scope.split(' ').any(|s| s == "openid")
    {
        return bad("invalid_request");
    }
    let code = crate::auth::random_token().unwrap();
    let citizen = p.citizen.lock().unwrap().clone();
    p.codes.lock().unwrap().insert(
        code.clone(),
        Grant {
            nonce: q.nonce,
            challenge: q.code_challenge,
            redirect_uri: q.redirect_uri.clone(),
            citizen,
        },
    );
    let query =
        serde_urlencoded::to_string([("code", code.as_str()), ("state", &q.state)]).unwrap();
    let sep = if q.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    Redirect::to(&format!("{}{sep}{query}", q.redirect_uri)).into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    code: String,
    redirect_uri: String,
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    code_verifier: String,
}

async fn token(State(p): State<Arc<Inner>>, Form(f): Form<TokenForm>) -> Response {
    if f.grant_type != "authorization_code"
        || f.client_id != CLIENT_ID
        || f.client_secret.as_deref() != Some(CLIENT_SECRET)
    {
        return bad("invalid_client");
    }
    let Some(grant) = p.codes.lock().unwrap().remove(&f.code) else {
        return bad("invalid_grant");
    };
    if grant.redirect_uri != f.redirect_uri || s256(&f.code_verifier) != grant.challenge {
        return bad("invalid_grant");
    }
    let how = *p.misbehave.lock().unwrap();
    let now = now_secs();
    let claims = json!({
        "iss": if how == Misbehave::WrongIssuer { "http://evil.example".to_owned() } else { p.issuer.clone() },
        "sub": grant.citizen.sub,
        "aud": if how == Misbehave::WrongAudience { "someone-else" } else { CLIENT_ID },
        "exp": if how == Misbehave::Expired { now - 3600 } else { now + 300 },
        "iat": if how == Misbehave::Expired { now - 4000 } else { now },
        "nonce": if how == Misbehave::WrongNonce { "another-nonce".to_owned() } else { grant.nonce },
        "name": grant.citizen.name,
        "email": grant.citizen.email,
    });
    let id_token = if how == Misbehave::AlgNone {
        format!(
            "{}.{}.",
            b64(br#"{"alg":"none","typ":"JWT"}"#),
            b64(claims.to_string().as_bytes())
        )
    } else {
        let key = if how == Misbehave::BadSignature {
            &p.rogue
        } else {
            &p.key
        };
        sign(key, &claims)
    };
    *p.tokens_issued.lock().unwrap() += 1;
    Json(json!({
        "access_token": format!("at-{}", grant.citizen.sub),
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
    .into_response()
}

/// An RS256 JWS of `claims` under key id `test-key-1`.
fn sign(key: &KeyPair, claims: &serde_json::Value) -> String {
    let header = b64(br#"{"alg":"RS256","typ":"JWT","kid":"test-key-1"}"#);
    let payload = b64(claims.to_string().as_bytes());
    let signed = format!("{header}.{payload}");
    let mut sig = vec![0u8; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signed.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{signed}.{}", b64(&sig))
}

async fn userinfo(State(p): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    let citizen = p.citizen.lock().unwrap().clone();
    let expected = format!("Bearer at-{}", citizen.sub);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (StatusCode::UNAUTHORIZED, "").into_response();
    }
    Json(json!({"sub": citizen.sub, "name": citizen.name, "email": citizen.email})).into_response()
}
