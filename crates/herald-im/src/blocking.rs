//! Whether a recipient has blocked a sender. The rules belong to presence (access
//! levels); the IM service only asks, through this trait, so that it does not depend
//! on the presence service.
use std::future::Future;
use std::pin::Pin;

pub trait SenderFilter: Send + Sync + 'static {
    /// Whether `recipient` has blocked `sender` (both AORs).
    fn blocks<'a>(
        &'a self,
        recipient: &'a str,
        sender: &'a str,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>>;
}
