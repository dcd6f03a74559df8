//! The IM service asks the presence service's access rules whether a recipient blocked
//! a sender.
use herald_im::SenderFilter;
use herald_presence::PresenceService;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub struct PresenceBlocks(pub Arc<PresenceService>);

impl SenderFilter for PresenceBlocks {
    fn blocks<'a>(
        &'a self,
        recipient: &'a str,
        sender: &'a str,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
        Box::pin(self.0.blocks(recipient, sender))
    }
}
