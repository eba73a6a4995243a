//! Who is calling. Programs send an API key, people an access token (JWT), both as
//! `Authorization: Bearer …`; [`middleware`] turns either into a [`Caller`] (organization,
//! user or key, role, scopes) and charges the caller's rate limits, and one extractor checks
//! the route's requirement. Every handler states what it needs by its extractor type:
//! `Authorized<ReadBatches>`, `Authorized<Admin>`, ….

pub mod credentials;
mod identify;
pub mod jwt;
mod limits;
pub mod password;

use std::{
    future::{Ready, ready},
    marker::PhantomData,
    ops::Deref,
};

use actix_web::{
    FromRequest, HttpMessage, HttpRequest,
    body::MessageBody,
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::header,
    middleware::Next,
    web,
};

use bacowr_shared::{
    domain::{Role, Scope, Scopes},
    ids::{ApiKeyId, OrgId, SessionId, UserId},
};

use crate::{error::ApiError, state::AppState};

pub use limits::{OrgLimitsCache, client_ip, expensive, login, unauthenticated};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    User {
        id: UserId,
        role: Role,
        session: SessionId,
    },
    Key {
        id: ApiKeyId,
    },
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub org_id: OrgId,
    pub actor: Actor,
    pub scopes: Scopes,
}

impl Caller {
    /// `user_…` or `key_…`: how the caller appears in review history and audit entries.
    pub fn label(&self) -> String {
        match self.actor {
            Actor::User { id, .. } => id.to_string(),
            Actor::Key { id } => id.to_string(),
        }
    }

    pub fn actor_type(&self) -> &'static str {
        match self.actor {
            Actor::User { .. } => "user",
            Actor::Key { .. } => "api_key",
        }
    }

    pub fn actor_uuid(&self) -> uuid::Uuid {
        match self.actor {
            Actor::User { id, .. } => id.uuid(),
            Actor::Key { id } => id.uuid(),
        }
    }

    pub fn role(&self) -> Option<Role> {
        match self.actor {
            Actor::User { role, .. } => Some(role),
            Actor::Key { .. } => None,
        }
    }
}

/// What a route needs beyond an authenticated caller.
pub trait Requirement: 'static {
    /// The scope the caller must hold; `None`: any authenticated caller.
    const SCOPE: Option<Scope>;
}

macro_rules! requirement {
    ($(#[$doc:meta])* $name:ident, $scope:expr) => {
        $(#[$doc])*
        pub struct $name;
        impl Requirement for $name {
            const SCOPE: Option<Scope> = $scope;
        }
    };
}

requirement!(
    /// Any authenticated user or key.
    AnyCaller, None
);
requirement!(
    /// `batches:read`
    ReadBatches, Some(Scope::BatchesRead)
);
requirement!(
    /// `batches:write`
    WriteBatches, Some(Scope::BatchesWrite)
);
requirement!(
    /// `review`
    Review, Some(Scope::Review)
);
requirement!(
    /// `admin`: owners and admins, keys with the admin scope.
    Admin, Some(Scope::Admin)
);

/// A caller who meets `R`.
pub struct Authorized<R: Requirement> {
    caller: Caller,
    _requirement: PhantomData<R>,
}

impl<R: Requirement> Deref for Authorized<R> {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

/// What [`middleware`] found out about the request's credential.
#[derive(Clone)]
struct Authentication(Result<Caller, ApiError>);

/// Authenticates every `/api/v1` request that carries a credential and charges its rate
/// limits, before any extractor runs: actix polls a handler's extractors together, so a bad
/// body must not answer before a refused credential does.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    if let Some(state) = state
        && req.headers().contains_key(header::AUTHORIZATION)
    {
        let outcome = match identify::caller(&state, req.request()).await {
            Ok(caller) => {
                req.extensions_mut().insert(caller);
                // The request's own hub (sentry-actix): errors say whose request it was.
                sentry::configure_scope(|scope| {
                    scope.set_user(Some(sentry::User {
                        id: Some(caller.org_id.to_string()),
                        username: Some(caller.label()),
                        ..Default::default()
                    }));
                });
                limits::charge(&state, req.request(), &caller)
                    .await
                    .map(|()| caller)
            }
            // Guessing credentials costs the guesser's IP its unauthenticated budget.
            Err(e) => match unauthenticated(&state, req.request()).await {
                Ok(()) => Err(e),
                Err(limited) => Err(limited),
            },
        };
        req.extensions_mut().insert(Authentication(outcome));
    }
    next.call(req).await
}

impl<R: Requirement> FromRequest for Authorized<R> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let outcome = req.extensions().get::<Authentication>().cloned();
        let caller = match outcome {
            None => Err(ApiError::unauthorized(
                "missing Authorization header; send `Bearer <API key or access token>`",
            )),
            Some(Authentication(result)) => result,
        };
        ready(caller.and_then(|caller| {
            if let Some(scope) = R::SCOPE
                && !caller.scopes.contains(scope)
            {
                return Err(ApiError::forbidden(format!(
                    "this route needs the `{scope}` scope; this {} has: {}",
                    match caller.actor {
                        Actor::User { role, .. } => format!("user (role {role})"),
                        Actor::Key { .. } => "API key".to_owned(),
                    },
                    if caller.scopes.is_empty() {
                        "none".to_owned()
                    } else {
                        caller.scopes.to_string()
                    }
                )));
            }
            Ok(Authorized {
                caller,
                _requirement: PhantomData,
            })
        }))
    }
}
