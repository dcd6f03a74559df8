//! Dispatch of requests that passed the checks to the service for their method.
use crate::checks::{self, ACCEPTED_TYPES, Reject, SUPPORTED_EXTENSIONS};
use herald_registrar::Registrar;
use herald_sip::{HeaderName, Method, Request, Response, response};
use herald_transport::Source;
use std::sync::Arc;

pub struct Router {
    registrar: Arc<Registrar>,
    product: String,
    tag: String,
}

impl Router {
    pub fn new(registrar: Arc<Registrar>, product: String) -> Self {
        Router {
            registrar,
            product,
            tag: format!("{:016x}", rand::random::<u64>()),
        }
    }

    /// The final response to a new server transaction (not ACK/CANCEL: the transaction
    /// layer takes those).
    pub async fn handle(&self, req: &Request, source: &Source) -> Response {
        let mut resp = match checks::check(req) {
            Err(reject) => self.reject(req, reject),
            Ok(()) => match req.method {
                Method::Register => self.registrar.handle(req, source).await,
                Method::Options => self.options(req),
                // The checks let only allowed methods through; this keeps a new entry in
                // ALLOWED_METHODS without a service from falling through silently.
                _ => self.reject(req, Reject::method_not_allowed()),
            },
        };
        resp.headers.push(HeaderName::Server, self.product.clone());
        resp
    }

    fn reject(&self, req: &Request, reject: Reject) -> Response {
        let mut resp =
            response::from_request(req, reject.status, Some(&reject.reason), Some(&self.tag));
        for (name, value) in reject.headers {
            resp.headers.push(name, value);
        }
        resp
    }

    /// OPTIONS is answered by the server itself with what it can do (RFC 3261 §11.2).
    fn options(&self, req: &Request) -> Response {
        let mut resp = response::from_request(req, 200, None, Some(&self.tag));
        resp.headers.push(HeaderName::Allow, checks::allow_header());
        resp.headers
            .push(HeaderName::Accept, ACCEPTED_TYPES.join(", "));
        resp.headers
            .push(HeaderName::Supported, SUPPORTED_EXTENSIONS.join(", "));
        resp
    }
}
