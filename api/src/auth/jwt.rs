//! Access tokens: HS256 JWTs, algorithm pinned (a token naming any other `alg`, `none`
//! included, is refused), issuer and audience checked, 15 minutes by default. Each carries its
//! session id, checked on every request, so logout and reuse detection end it at once.

use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use bacowr_shared::config::AuthSettings;

const AUDIENCE: &str = "bacowr-api";

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// `user_…`
    pub sub: String,
    /// `org_…`
    pub org: String,
    /// `ses_…`
    pub sid: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    ttl_secs: i64,
}

impl JwtKeys {
    pub fn new(settings: &AuthSettings) -> Result<Self, jsonwebtoken::errors::Error> {
        let secret = settings.jwt_secret.as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&settings.jwt_issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        // Clocks of the API replicas agree to within seconds (NTP); a minute of leeway
        // would stretch a 15-minute token by 7%.
        validation.leeway = 5;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
            validation,
            issuer: settings.jwt_issuer.clone(),
            ttl_secs: settings.access_ttl_secs as i64,
        })
    }

    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    pub fn issue(
        &self,
        user: impl ToString,
        org: impl ToString,
        session: impl ToString,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user.to_string(),
            org: org.to_string(),
            sid: session.to_string(),
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_owned(),
            iat: now,
            exp: now + self.ttl_secs,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// The claims of a valid token; why it isn't valid otherwise (for logs, never clients).
    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map(|d| d.claims)
    }
}

/// Whether a bearer credential has a JWT's shape (three base64url parts).
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3 && token.starts_with("eyJ")
}
