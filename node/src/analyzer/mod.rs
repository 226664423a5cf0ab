//! The node analyser over HTTP (actix-web), on 127.0.0.1 by default (`[http] listen`):
//! `/status` as JSON, `/metrics` as Prometheus text, `/` the dashboard (a static page that
//! draws itself from `/status`), and `POST /logout`, which revokes the token it carries.
//! Whom it answers is `overlay::analyst::http`'s decision: a `Host` header naming this
//! node, then loopback (when `[http] trust_loopback`) or a token in the `Authorization`
//! header, which the network task checks against the current configuration (authority,
//! expiry, revocation, the `analyze` capability, this node). Requests ask the network task
//! through a small bounded queue; when it is full the answer is 503, so a flood of HTTP
//! requests cannot pile up work in the node.

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use overlay::analyst::http::{Asked, Grounds, Policy};
use overlay::wire::StatusReport;
use tokio::sync::{mpsc, oneshot};

use crate::metrics;

/// Status requests waiting for the network task.
pub const ASKS_MAX: usize = 16;

/// What a request wants of the network task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// The node's status.
    Status,
    /// That the token it carries be refused from now on.
    Logout,
}

/// A request for the network task, with the grounds it came on, still to be checked.
pub struct Ask {
    /// Loopback, or a token.
    pub grounds: Grounds,
    /// What it wants.
    pub want: Want,
    /// The status (none for a logout), or why it is refused.
    pub reply: oneshot::Sender<Result<Option<StatusReport>, String>>,
}

/// Where the HTTP side asks the network task.
pub type StatusAsk = mpsc::Sender<Ask>;

/// What the handlers share.
struct Shared {
    ask: StatusAsk,
    policy: Policy,
}

/// What `req` shows, before anything in it is believed.
fn asked(req: &HttpRequest) -> Asked {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    Asked {
        loopback: req.peer_addr().is_some_and(|a| a.ip().is_loopback()),
        host: header("host"),
        bearer: header("authorization")
            .and_then(|v| v.strip_prefix("Bearer ").map(|t| t.trim().to_string())),
        token_in_query: req
            .query_string()
            .split('&')
            .any(|kv| kv.split('=').next() == Some("token")),
    }
}

/// The network task's answer to `want`, or the response that says why not.
async fn ask(
    shared: &Shared,
    req: &HttpRequest,
    want: Want,
) -> Result<Option<StatusReport>, HttpResponse> {
    let grounds = shared.policy.grounds(&asked(req)).map_err(forbidden)?;
    let (tx, rx) = oneshot::channel();
    let a = Ask {
        grounds,
        want,
        reply: tx,
    };
    if shared.ask.try_send(a).is_err() {
        return Err(unavailable());
    }
    match tokio::time::timeout(Duration::from_secs(5), rx).await {
        Ok(Ok(Ok(r))) => Ok(r),
        Ok(Ok(Err(why))) => Err(forbidden(why)),
        _ => Err(unavailable()),
    }
}

async fn current(shared: &Shared, req: &HttpRequest) -> Result<StatusReport, HttpResponse> {
    ask(shared, req, Want::Status)
        .await?
        .ok_or_else(unavailable)
}

fn forbidden(why: String) -> HttpResponse {
    HttpResponse::Forbidden().body(format!("{why}\n"))
}

fn unavailable() -> HttpResponse {
    HttpResponse::ServiceUnavailable().body("the node is busy or stopping; try again\n")
}

async fn status(shared: web::Data<Shared>, req: HttpRequest) -> HttpResponse {
    match current(&shared, &req).await {
        Ok(r) => HttpResponse::Ok().json(metrics::to_json(&r)),
        Err(refused) => refused,
    }
}

/// The dashboard: one self-contained page that draws itself from `/status` every few seconds.
async fn dashboard(shared: web::Data<Shared>, req: HttpRequest) -> HttpResponse {
    if let Err(why) = shared.policy.host_allowed(asked(&req).host.as_deref()) {
        return forbidden(why);
    }
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(include_str!("dashboard.html"))
}

async fn prometheus(shared: web::Data<Shared>, req: HttpRequest) -> HttpResponse {
    match current(&shared, &req).await {
        Ok(r) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(metrics::render(&r)),
        Err(refused) => refused,
    }
}

async fn logout(shared: web::Data<Shared>, req: HttpRequest) -> HttpResponse {
    match ask(&shared, &req, Want::Logout).await {
        Ok(_) => HttpResponse::Ok().body("the token is revoked at this node\n"),
        Err(refused) => refused,
    }
}

/// Binds `listen` and serves on the current actix system, answering as `policy` says (the
/// listen address's own IP is a name of this node too); returns the bound address.
pub fn start(listen: &str, ask: StatusAsk, mut policy: Policy) -> anyhow::Result<SocketAddr> {
    if let Ok(a) = listen.parse::<SocketAddr>()
        && !a.ip().is_unspecified()
    {
        policy.hosts.push(a.ip().to_string());
    }
    let data = web::Data::new(Shared { ask, policy });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/", web::get().to(dashboard))
            .route("/status", web::get().to(status))
            .route("/metrics", web::get().to(prometheus))
            .route("/logout", web::post().to(logout))
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
