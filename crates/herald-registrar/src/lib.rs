//! Registration: where a user can be reached, and who they are.
//!
//! - [`location`]: the location service (bindings of an address-of-record to contacts,
//!   each tied to the flow it registered over) behind a trait, with the in-memory
//!   implementation a single server uses; an Enterprise pool plugs in a shared one.
//! - [`authn`]: digest authentication of requests against the user directory
//!   (401/407 challenges, stale nonces, no user enumeration).
//!   Directory entries are cached and refreshed in the background (`user_cache`).
//! - [`lockout`]: failed-password lockout per (digest username, source address).
//! - [`user_limits`]: per-user request rates, charged after authentication.
//! - [`register`]: the REGISTER handler (RFC 3261 §10.3, RFC 5626 instance/reg-id).
//! - [`sender`]: who sent any other request (an authenticated user writing as themselves).

pub mod authn;
pub mod domains;
pub mod location;
pub mod lockout;
pub mod register;
pub mod sender;
mod user_cache;
pub mod user_limits;

pub use authn::{AuthOutcome, Authenticator, Challenge, ChallengeKind};
pub use domains::ServedDomains;
pub use location::{Binding, BindingKey, LocationService, MemoryLocation};
pub use lockout::{Lockout, LockoutConfig};
pub use register::{Registered, Registrar, RegistrarConfig};
pub use sender::Refusal;
pub use user_limits::{LimitedMethod, OverLimit, RateLimit, UserLimits, UserLimitsConfig};
