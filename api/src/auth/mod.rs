//! Who is calling. Programs send an API key, people an access token (JWT), both as
//! `Authorization: Bearer …`; one extractor turns either into a [`Caller`] (organization,
//! user or key, role, scopes), charges the caller's rate limits and checks the route's
//! requirement. Every handler states what it needs by its extractor type:
//! `Authorized<ReadBatches>`, `Authorized<Admin>`, ….

pub mod credentials;
mod identify;
pub mod jwt;
mod limits;
pub mod password;

use std::{future::Future, marker::PhantomData, ops::Deref, pin::Pin};

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};

use bacowr_shared::{
    domain::{Role, Scope, Scopes},
    ids::{ApiKeyId, OrgId, SessionId, UserId},
};

use crate::{error::ApiError, state::AppState};

pub use identify::bearer;
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

impl<R: Requirement> FromRequest for Authorized<R> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| ApiError::internal("AppState missing"))?;
            let caller = match identify::caller(&state, &req).await {
                Ok(caller) => caller,
                Err(e) => {
                    // Guessing credentials costs the guesser's IP its unauthenticated budget.
                    unauthenticated(&state, &req).await?;
                    return Err(e);
                }
            };
            req.extensions_mut().insert(caller);
            limits::charge(&state, &req, &caller).await?;
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
        })
    }
}
