//! The node analyser over HTTP (actix-web), on 127.0.0.1 by default (`[http] listen`):
//! `/status` as JSON and `/metrics` as Prometheus text, both from the network task's current
//! status. Requests ask the network task through a small bounded queue; when it is full the
//! answer is 503, so a flood of HTTP requests cannot pile up work in the node.

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use overlay::wire::StatusReport;
use tokio::sync::{mpsc, oneshot};

use crate::metrics;

/// Status requests waiting for the network task.
pub const ASKS_MAX: usize = 16;

/// Where the HTTP side asks the network task for its status.
pub type StatusAsk = mpsc::Sender<oneshot::Sender<StatusReport>>;

async fn current(ask: &StatusAsk) -> Option<StatusReport> {
    let (tx, rx) = oneshot::channel();
    ask.try_send(tx).ok()?;
    tokio::time::timeout(Duration::from_secs(5), rx)
        .await
        .ok()?
        .ok()
}

fn unavailable() -> HttpResponse {
    HttpResponse::ServiceUnavailable().body("the node is busy or stopping; try again\n")
}

async fn status(ask: web::Data<StatusAsk>) -> HttpResponse {
    match current(&ask).await {
        Some(r) => HttpResponse::Ok().json(metrics::to_json(&r)),
        None => unavailable(),
    }
}

/// The dashboard: one self-contained page that draws itself from `/status` every few seconds.
async fn dashboard() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(include_str!("dashboard.html"))
}

async fn prometheus(ask: web::Data<StatusAsk>) -> HttpResponse {
    match current(&ask).await {
        Some(r) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(metrics::render(&r)),
        None => unavailable(),
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
