//! Wall-clock helpers for the CLI: the current time as the overlay's `Timestamp`, and parsing
//! of expiry arguments.

use overlay::time::Timestamp;

/// Now, in Unix seconds.
pub fn now() -> Timestamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Timestamp(secs)
}

/// Parses an expiry: a duration from now (`90d`, `12h`, `1y`) or a date (`2027-01-31`,
/// `2027-01-31T12:00:00Z`).
pub fn parse_expiry(s: &str, now: Timestamp) -> Result<Timestamp, String> {
    if let Ok(d) = humantime::parse_duration(s) {
        return Ok(now.plus_secs(d.as_secs()));
    }
    let text = if s.len() == 10 {
        format!("{s}T23:59:59Z")
    } else {
        s.to_string()
    };
    match humantime::parse_rfc3339_weak(&text) {
        Ok(t) => {
            let secs = t
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            if secs <= now.0 {
                return Err(format!("{s:?} is in the past"));
            }
            Ok(Timestamp(secs))
        }
        Err(_) => Err(format!(
            "{s:?} is neither a duration (90d, 12h) nor a date (2027-01-31 or 2027-01-31T12:00:00Z)"
        )),
    }
}

/// A timestamp as an RFC 3339 date and time, for listings.
pub fn show(t: Timestamp) -> String {
    let st = std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.0.min(253_402_300_799));
    humantime::format_rfc3339_seconds(st).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries_parse_as_durations_or_dates() {
        let now = Timestamp(1_700_000_000);
        assert_eq!(parse_expiry("1d", now), Ok(Timestamp(1_700_086_400)));
        assert!(parse_expiry("2099-01-01", now).unwrap() > now);
        assert!(parse_expiry("2001-01-01", now).is_err());
        assert!(parse_expiry("soon", now).is_err());
    }
}
