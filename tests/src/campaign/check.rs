//! The campaign's verdict: each register's history through stateright's linearizability
//! tester, and each register's final value against its last acknowledged write.

use stateright::semantics::register::{Register, RegisterOp, RegisterRet};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};

use super::load::Step;

/// What the checker found.
#[derive(Debug, Default, Clone, Copy)]
pub struct Verdict {
    /// Operations fed to the tester (completed or left in flight).
    pub checked: u64,
    /// Acknowledged writes whose value was neither read back at the end nor overwritten by a
    /// later acknowledged write: must be zero.
    pub lost: u64,
}

/// Checks `history` (sorted by time) over `registers` registers, with `finals[r]` the value
/// register `r` read back after the campaign, and `last_acked[r]` its last acknowledged write.
pub fn check(
    history: &[(std::time::Instant, usize, usize, Step)],
    registers: usize,
    finals: &[Option<u64>],
    last_acked: &[Option<u64>],
) -> Result<Verdict, String> {
    let mut testers: Vec<LinearizabilityTester<usize, Register<Option<u64>>>> = (0..registers)
        .map(|_| LinearizabilityTester::new(Register(None)))
        .collect();
    let mut v = Verdict::default();
    for (_, reg, thread, step) in history {
        let t = testers
            .get_mut(*reg)
            .ok_or_else(|| format!("register {reg} out of range"))?;
        match step {
            Step::Invoke(op) => {
                v.checked += 1;
                t.on_invoke(*thread, op.clone())
                    .map_err(|e| format!("register {reg}: {e}"))?;
            }
            Step::Return(ret) => {
                t.on_return(*thread, ret.clone())
                    .map_err(|e| format!("register {reg}: {e}"))?;
            }
        }
    }
    // The final reads, after everything else, on threads of their own.
    for (reg, t) in testers.iter_mut().enumerate() {
        let thread = usize::MAX - reg;
        t.on_invoke(thread, RegisterOp::Read)
            .map_err(|e| format!("register {reg}: {e}"))?;
        t.on_return(thread, RegisterRet::ReadOk(finals[reg]))
            .map_err(|e| format!("register {reg}: {e}"))?;
        v.checked += 1;
        if !t.is_consistent() {
            return Err(format!(
                "register {reg}: the history is not linearizable (final value {:?}, last acknowledged write {:?})",
                finals[reg], last_acked[reg]
            ));
        }
        // One writer writes increasing numbers, so anything below its last acknowledged
        // write at the end is a lost write.
        if let Some(acked) = last_acked[reg]
            && finals[reg].is_none_or(|f| f < acked)
        {
            v.lost += acked - finals[reg].unwrap_or(0);
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_stale_read_after_an_acknowledged_write_is_caught() {
        let t0 = Instant::now();
        let h = vec![
            (t0, 0, 1, Step::Invoke(RegisterOp::Write(Some(1)))),
            (t0, 0, 1, Step::Return(RegisterRet::WriteOk)),
            (t0, 0, 1, Step::Invoke(RegisterOp::Write(Some(2)))),
            (t0, 0, 1, Step::Return(RegisterRet::WriteOk)),
            (t0, 0, 2, Step::Invoke(RegisterOp::Read)),
            (t0, 0, 2, Step::Return(RegisterRet::ReadOk(Some(1)))),
        ];
        assert!(check(&h, 1, &[Some(2)], &[Some(2)]).is_err());
        let lost = check(&h[..4], 1, &[Some(1)], &[Some(2)]);
        assert!(
            lost.is_err(),
            "a final value below the last write is not linearizable"
        );
    }

    #[test]
    fn an_unfinished_write_may_or_may_not_show() {
        let t0 = Instant::now();
        let h = vec![
            (t0, 0, 1, Step::Invoke(RegisterOp::Write(Some(1)))),
            (t0, 0, 1, Step::Return(RegisterRet::WriteOk)),
            (t0, 0, 1, Step::Invoke(RegisterOp::Write(Some(2)))),
            (t0, 0, 1001, Step::Invoke(RegisterOp::Write(Some(3)))),
            (t0, 0, 1001, Step::Return(RegisterRet::WriteOk)),
        ];
        let v = check(&h, 1, &[Some(3)], &[Some(3)]).expect("linearizable");
        assert_eq!(v.lost, 0);
        assert_eq!(v.checked, 4);
    }
}
