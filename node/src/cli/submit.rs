//! Handing the authority's certificates to the membership service.

use std::time::Duration;

use anyhow::bail;
use bootstrap::admin::Admin;
use overlay::cert::Certificate;
use overlay::ms::{MsApp, Op, Receipt};
use rampart::ordering;

/// How long a submission waits for f+1 matching receipts.
pub const SUBMIT_TIMEOUT: Duration = Duration::from_secs(30);

/// Orders `cert` through the MS of the system `peer` belongs to and prints what it did.
pub fn submit(admin: &Admin, cert: &Certificate, peer: &str) -> anyhow::Result<()> {
    let op = match cert.content.body.kind() {
        "add" => Op::Add(cert.clone()),
        "remove" => Op::Remove(cert.clone()),
        "revoke" => Op::Revoke(cert.clone()),
        kind => bail!(
            "a {kind} certificate is not submitted to the membership service; give it to the client"
        ),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let key = overlay::crypto::SecretKey::from_seed(&admin.secret().seed());
    let result = rt.block_on(ordering::submit_one(
        peer,
        key,
        MsApp::encode_op(&op),
        SUBMIT_TIMEOUT,
    ))?;
    match MsApp::decode_receipt(&result) {
        Some(Receipt::Queued) => {
            println!("the membership service queued it for the next epoch");
            Ok(())
        }
        Some(Receipt::Refused(e)) => bail!("the membership service refused it: {e}"),
        Some(other) => bail!("unexpected answer from the membership service: {other:?}"),
        None => bail!(
            "the MS replicas answered with something that is not a receipt (do they run the membership application?)"
        ),
    }
}
