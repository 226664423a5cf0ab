//! The one canonical encoding of everything signed or hashed, and size-bounded decoding.
//!
//! The format is postcard (varint integers, length-prefixed sequences, no field names), which is
//! deterministic for the types we use: no hash maps, only vectors and B-tree collections. Every
//! signature and every hash covers a domain tag followed by this encoding, so a signature made
//! for one purpose can never be replayed as another.

use serde::{Serialize, de::DeserializeOwned};

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input is larger than the caller allows.
    #[error("input of {got} bytes exceeds the limit of {max} bytes")]
    Oversized {
        /// Length of the input.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// The input is not a valid encoding (truncated, wrong tag, bad length ...).
    #[error("malformed encoding: {0}")]
    Malformed(String),
    /// A valid value was followed by extra bytes.
    #[error("{0} trailing bytes after the value")]
    Trailing(usize),
}

/// A value with a fixed domain tag for signing and hashing.
pub trait Domain {
    /// The domain tag; unique per kind of statement.
    const DOMAIN: &'static str;
}

/// The canonical encoding of `value`.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    // Serialising our own types into a Vec cannot fail: there are no maps with non-string
    // keys that postcard rejects and no I/O.
    match postcard::to_allocvec(value) {
        Ok(bytes) => bytes,
        Err(e) => unreachable_encoding(e),
    }
}

#[cold]
fn unreachable_encoding(e: postcard::Error) -> Vec<u8> {
    // A type that cannot be encoded is a programming error, found by the round-trip tests.
    unreachable!("canonical encoding failed: {e}")
}

/// Decodes `bytes` as exactly one `T`, refusing inputs over `max` bytes or with trailing bytes.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], max: usize) -> Result<T, DecodeError> {
    if bytes.len() > max {
        return Err(DecodeError::Oversized {
            got: bytes.len(),
            max,
        });
    }
    let (value, rest) =
        postcard::take_from_bytes(bytes).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(DecodeError::Trailing(rest.len()));
    }
    Ok(value)
}

/// The bytes a signature or hash covers: `rampart/v1/<domain>\0` followed by the encoding.
pub fn domain_bytes<T: Serialize + Domain + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(b"rampart/v1/");
    out.extend_from_slice(T::DOMAIN.as_bytes());
    out.push(0);
    out.extend_from_slice(&encode(value));
    out
}

/// The value `bytes` are the domain bytes of, if they are exactly that.
pub fn decode_domain<T: DeserializeOwned + Domain>(bytes: &[u8], max: usize) -> Option<T> {
    let rest = bytes.strip_prefix(b"rampart/v1/".as_slice())?;
    let rest = rest.strip_prefix(T::DOMAIN.as_bytes())?;
    let rest = rest.strip_prefix(&[0u8][..])?;
    decode(rest, max).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Pair(u32, Vec<u8>);

    #[test]
    fn round_trip_and_trailing_bytes() {
        let bytes = encode(&Pair(7, vec![1, 2, 3]));
        assert_eq!(decode::<Pair>(&bytes, 64), Ok(Pair(7, vec![1, 2, 3])));
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode::<Pair>(&longer, 64), Err(DecodeError::Trailing(1)));
        assert!(matches!(
            decode::<Pair>(&bytes[..2], 64),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(
            decode::<Pair>(&bytes, 2),
            Err(DecodeError::Oversized { .. })
        ));
    }

    #[test]
    fn huge_length_prefix_is_an_error_not_an_allocation() {
        // A sequence claiming 2^62 elements but carrying none.
        let bytes = [7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f];
        assert!(decode::<Pair>(&bytes, 64).is_err());
    }
}
