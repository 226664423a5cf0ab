//! The node analyser over HTTP (actix-web), on 127.0.0.1 by default (`[http] listen`):
//! `/status` as JSON, `/metrics` as Prometheus text, and `/` the dashboard, a static page
//! that draws itself from `/status`. Requests from another host must carry an analyst's
//! token (`rampart analyze --token`); the network task checks it against the current
//! configuration (authority, expiry, revocation, the `analyze` capability). Requests ask the network task through a small bounded queue; when it is full the
//! answer is 503, so a flood of HTTP requests cannot pile up work in the node.

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use overlay::wire::StatusReport;
use tokio::sync::{mpsc, oneshot};

use crate::metrics;

/// Status requests waiting for the network task.
pub const ASKS_MAX: usize = 16;

/// A request for the node's status, with what the network task needs to decide whether to
/// answer it.
pub struct Ask {
    /// Whether it came from another host.
    pub remote: bool,
    /// The analyst's token, from the `Authorization: Bearer` header or the `token` query.
    pub token: Option<String>,
    /// The status, or why it is refused.
    pub reply: oneshot::Sender<Result<StatusReport, String>>,
}

/// Where the HTTP side asks the network task for its status.
pub type StatusAsk = mpsc::Sender<Ask>;

/// The token a request carries, if any.
fn token_of(req: &HttpRequest) -> Option<String> {
    let header = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    header.or_else(|| {
        req.query_string()
            .split('&')
            .find_map(|kv| kv.strip_prefix("token="))
            .map(str::to_string)
    })
}

/// The status, or the response that says why not.
async fn current(ask: &StatusAsk, req: &HttpRequest) -> Result<StatusReport, HttpResponse> {
    let remote = req.peer_addr().is_none_or(|a| !a.ip().is_loopback());
    let (tx, rx) = oneshot::channel();
    let a = Ask {
        remote,
        token: token_of(req),
        reply: tx,
    };
    if ask.try_send(a).is_err() {
        return Err(unavailable());
    }
    match tokio::time::timeout(Duration::from_secs(5), rx).await {
        Ok(Ok(Ok(r))) => Ok(r),
        Ok(Ok(Err(why))) => Err(HttpResponse::Forbidden().body(format!("{why}\n"))),
        _ => Err(unavailable()),
    }
}

fn unavailable() -> HttpResponse {
    HttpResponse::ServiceUnavailable().body("the node is busy or stopping; try again\n")
}

async fn status(ask: web::Data<StatusAsk>, req: HttpRequest) -> HttpResponse {
    match current(&ask, &req).await {
        Ok(r) => HttpResponse::Ok().json(metrics::to_json(&r)),
        Err(refused) => refused,
    }
}

/// The dashboard: one self-contained page that draws itself from `/status` every few seconds.
async fn dashboard() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(include_str!("dashboard.html"))
}

async fn prometheus(ask: web::Data<StatusAsk>, req: HttpRequest) -> HttpResponse {
    match current(&ask, &req).await {
        Ok(r) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(metrics::render(&r)),
        Err(refused) => refused,
    }
}

/// Binds `listen` and serves on the current actix system; returns the bound address.
pub fn start(listen: &str, ask: StatusAsk) -> anyhow::Result<SocketAddr> {
    let data = web::Data::new(ask);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/", web::get().to(dashboard))
            .route("/status", web::get().to(status))
            .route("/metrics", web::get().to(prometheus))
    })
    .workers(1)
    .disable_signals()
    .bind(listen)
    .map_err(|e| anyhow::anyhow!("cannot serve HTTP on {listen}: {e}"))?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| anyhow::anyhow!("HTTP on {listen}: no address bound"))?;
    actix_rt::spawn(server.run());
    Ok(addr)
}
