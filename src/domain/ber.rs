//! A minimal BER/DER reader and DER writer, enough to look inside PKCS#12 files
//! before handing them to OpenSSL.
//!
//! Why hand-written: the DER crates of the ecosystem refuse BER (indefinite
//! lengths, constructed strings), which real PKCS#12 files from Java and NSS
//! use, and we only need to walk a tree and read a few integers, OIDs and
//! strings. The reader is bounded: nesting depth and lengths are checked, it
//! never allocates more than its input.

use std::borrow::Cow;

use zeroize::Zeroizing;

/// Universal tag numbers used by PKCS#12.
pub mod tag {
    /// INTEGER
    pub const INTEGER: u8 = 0x02;
    /// OCTET STRING
    pub const OCTET_STRING: u8 = 0x04;
    /// OBJECT IDENTIFIER
    pub const OID: u8 = 0x06;
    /// SEQUENCE (constructed)
    pub const SEQUENCE: u8 = 0x30;
    /// BOOLEAN
    pub const BOOLEAN: u8 = 0x01;
    /// BIT STRING
    pub const BIT_STRING: u8 = 0x03;
    /// ENUMERATED
    pub const ENUMERATED: u8 = 0x0a;
    /// `UTCTime`
    pub const UTC_TIME: u8 = 0x17;
    /// `GeneralizedTime`
    pub const GENERALIZED_TIME: u8 = 0x18;
    /// `[3]` constructed, context-specific (certificate extensions)
    pub const CONTEXT_3: u8 = 0xa3;
    /// SET (constructed)
    pub const SET: u8 = 0x31;
    /// `BMPString`
    pub const BMP_STRING: u8 = 0x1e;
    /// `[0]` constructed, context-specific
    pub const CONTEXT_0: u8 = 0xa0;
    /// `[0]` primitive, context-specific
    pub const CONTEXT_0_PRIMITIVE: u8 = 0x80;
}

const MAX_DEPTH: usize = 32;

/// A malformed encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed ASN.1 at byte {offset}: {what}")]
pub struct BerError {
    /// Where in the buffer being read.
    pub offset: usize,
    /// What was wrong.
    pub what: &'static str,
}

/// One element: its identifier octet and its content bytes.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    /// The identifier octet (class, constructed bit, low tag number).
    pub tag: u8,
    /// Content octets (for an indefinite length, without the end-of-contents).
    pub content: &'a [u8],
    depth: usize,
}

impl<'a> Node<'a> {
    /// Whether the constructed bit is set.
    pub fn constructed(&self) -> bool {
        self.tag & 0x20 != 0
    }

    /// The tag with the constructed bit cleared (so a BER constructed OCTET
    /// STRING compares equal to a primitive one).
    pub fn base_tag(&self) -> u8 {
        self.tag & !0x20
    }

    /// The children of a constructed element.
    pub fn children(&self) -> Result<Vec<Node<'a>>, BerError> {
        if !self.constructed() {
            return Err(BerError {
                offset: 0,
                what: "expected a constructed element",
            });
        }
        if self.depth >= MAX_DEPTH {
            return Err(BerError {
                offset: 0,
                what: "nesting too deep",
            });
        }
        let mut out = Vec::new();
        let mut rest = self.content;
        while !rest.is_empty() {
            let (node, used) = read_at(rest, self.depth + 1)?;
            out.push(node);
            rest = &rest[used..];
        }
        Ok(out)
    }

    /// The children of a constructed element, read one at a time (no
    /// allocation: a CRL's million entries are walked, not collected).
    #[allow(clippy::iter_without_into_iter)]
    pub fn iter(&self) -> Children<'a> {
        Children {
            rest: if self.constructed() {
                self.content
            } else {
                &[]
            },
            depth: self.depth + 1,
            failed: self.depth >= MAX_DEPTH || !self.constructed(),
        }
    }

    /// Child `i`, or an error naming what was expected.
    pub fn child(&self, i: usize, what: &'static str) -> Result<Node<'a>, BerError> {
        self.children()?
            .get(i)
            .copied()
            .ok_or(BerError { offset: 0, what })
    }

    /// The bytes of an OCTET STRING, joining the pieces of a BER constructed one.
    pub fn octets(&self) -> Result<Cow<'a, [u8]>, BerError> {
        if self.constructed() {
            let mut joined = Vec::with_capacity(self.octets_len()?);
            self.join_into(&mut joined)?;
            Ok(Cow::Owned(joined))
        } else {
            Ok(Cow::Borrowed(self.content))
        }
    }

    /// The bytes of an OCTET STRING in a buffer wiped on drop (it may hold
    /// key bags). The pieces of a BER constructed one are joined into one
    /// allocation of the final size: no growing buffer leaves copies behind.
    pub fn octets_zeroizing(&self) -> Result<Zeroizing<Vec<u8>>, BerError> {
        let mut out = Zeroizing::new(Vec::with_capacity(self.octets_len()?));
        self.join_into(&mut out)?;
        Ok(out)
    }

    /// Length of the joined bytes of an OCTET STRING.
    fn octets_len(&self) -> Result<usize, BerError> {
        if !self.constructed() {
            return Ok(self.content.len());
        }
        let mut len = 0usize;
        for c in self.children()? {
            len = len.saturating_add(c.octets_len()?);
        }
        Ok(len)
    }

    /// Appends the joined bytes of an OCTET STRING to `out` (sized by the
    /// caller, so it never reallocates).
    fn join_into(&self, out: &mut Vec<u8>) -> Result<(), BerError> {
        if self.constructed() {
            for c in self.children()? {
                c.join_into(out)?;
            }
        } else {
            out.extend_from_slice(self.content);
        }
        Ok(())
    }

    /// A non-negative INTEGER that fits in a u64 (None when larger or negative).
    pub fn uint(&self) -> Option<u64> {
        let bytes = self.content;
        if bytes.is_empty() || bytes[0] & 0x80 != 0 {
            return None;
        }
        let trimmed: &[u8] = {
            let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
            &bytes[first..]
        };
        if trimmed.len() > 8 {
            return None;
        }
        Some(
            trimmed
                .iter()
                .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
        )
    }

    /// The dotted form of an OBJECT IDENTIFIER.
    pub fn oid(&self) -> Option<String> {
        if self.tag != tag::OID || self.content.is_empty() {
            return None;
        }
        let mut arcs: Vec<u64> = Vec::new();
        let mut value: u64 = 0;
        for b in self.content {
            if value > (u64::MAX >> 7) {
                return None;
            }
            value = (value << 7) | u64::from(b & 0x7f);
            if b & 0x80 == 0 {
                if arcs.is_empty() {
                    let first = (value / 40).min(2);
                    arcs.push(first);
                    arcs.push(value - first * 40);
                } else {
                    arcs.push(value);
                }
                value = 0;
            }
        }
        Some(
            arcs.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join("."),
        )
    }

    /// A `BMPString` (UTF-16BE) as text.
    pub fn bmp_string(&self) -> Option<String> {
        let bytes = self.octets().ok()?;
        if bytes.len() % 2 != 0 {
            return None;
        }
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).ok()
    }
}

/// The children of a constructed element, one at a time; see [`Node::iter`].
#[derive(Debug, Clone)]
pub struct Children<'a> {
    rest: &'a [u8],
    depth: usize,
    failed: bool,
}

impl<'a> Children<'a> {
    /// The next child with its full encoding (identifier, length, content).
    pub fn next_raw(&mut self) -> Option<Result<(Node<'a>, &'a [u8]), BerError>> {
        let before = self.rest;
        let node = self.next()?;
        Some(node.map(|n| (n, &before[..before.len() - self.rest.len()])))
    }
}

impl<'a> Iterator for Children<'a> {
    type Item = Result<Node<'a>, BerError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            self.failed = false;
            self.rest = &[];
            return Some(Err(BerError {
                offset: 0,
                what: "expected a constructed element",
            }));
        }
        if self.rest.is_empty() {
            return None;
        }
        match read_at(self.rest, self.depth) {
            Ok((node, used)) => {
                self.rest = &self.rest[used..];
                Some(Ok(node))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// The full encoding (identifier, length and content) of the first element
/// of `input`: what a signature covers.
pub fn raw_first(input: &[u8]) -> Result<&[u8], BerError> {
    let (_, used) = read_at(input, 0)?;
    Ok(&input[..used])
}

/// Reads exactly one element filling `input`, or says why not.
pub fn read_one(input: &[u8]) -> Result<Node<'_>, BerError> {
    let (node, used) = read_at(input, 0)?;
    if used != input.len() {
        return Err(BerError {
            offset: used,
            what: "trailing bytes after the element",
        });
    }
    Ok(node)
}

/// Reads the first element of `input`; returns it and how many bytes it used.
pub fn read_first(input: &[u8]) -> Result<(Node<'_>, usize), BerError> {
    read_at(input, 0)
}

fn read_at(input: &[u8], depth: usize) -> Result<(Node<'_>, usize), BerError> {
    let err = |offset, what| BerError { offset, what };
    let tag = *input.first().ok_or(err(0, "unexpected end of data"))?;
    if tag & 0x1f == 0x1f {
        return Err(err(
            0,
            "high tag numbers are not used in PKCS#12, certificates or CRLs",
        ));
    }
    let first_len = *input.get(1).ok_or(err(1, "unexpected end of data"))?;
    let mut pos = 2;
    if first_len == 0x80 {
        // Indefinite length: only for constructed elements; walk children to the EOC.
        if tag & 0x20 == 0 {
            return Err(err(1, "indefinite length on a primitive element"));
        }
        if depth >= MAX_DEPTH {
            return Err(err(0, "nesting too deep"));
        }
        let start = pos;
        loop {
            let rest = input.get(pos..).ok_or(err(pos, "unexpected end of data"))?;
            if rest.len() >= 2 && rest[0] == 0 && rest[1] == 0 {
                let node = Node {
                    tag,
                    content: &input[start..pos],
                    depth,
                };
                return Ok((node, pos + 2));
            }
            if rest.is_empty() {
                return Err(err(pos, "missing end-of-contents"));
            }
            let (_, used) = read_at(rest, depth + 1)?;
            pos += used;
        }
    }
    let len = if first_len & 0x80 == 0 {
        usize::from(first_len)
    } else {
        let n = usize::from(first_len & 0x7f);
        if n == 0 || n > 4 {
            return Err(err(1, "unsupported length encoding"));
        }
        let bytes = input
            .get(2..2 + n)
            .ok_or(err(2, "unexpected end of data"))?;
        pos += n;
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    let end = pos.checked_add(len).ok_or(err(pos, "length overflow"))?;
    let content = input
        .get(pos..end)
        .ok_or(err(pos, "length runs past the end of data"))?;
    Ok((
        Node {
            tag,
            content,
            depth,
        },
        end,
    ))
}

/// DER writer: one TLV with a definite length.
pub fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | u8::try_from(bytes.len() - skip).unwrap_or(0));
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// DER INTEGER from a non-negative u64.
pub fn der_uint(value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len() - 1);
    let mut content = bytes[skip..].to_vec();
    if content[0] & 0x80 != 0 {
        content.insert(0, 0);
    }
    der(tag::INTEGER, &content)
}

/// DER OBJECT IDENTIFIER from its dotted form (arcs must be valid).
pub fn der_oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').filter_map(|a| a.parse().ok()).collect();
    let mut content = Vec::new();
    let mut push = |mut v: u64| {
        let mut tmp = vec![u8::try_from(v & 0x7f).unwrap_or(0)];
        v >>= 7;
        while v > 0 {
            tmp.push(0x80 | u8::try_from(v & 0x7f).unwrap_or(0));
            v >>= 7;
        }
        tmp.reverse();
        content.extend_from_slice(&tmp);
    };
    if arcs.len() >= 2 {
        push(arcs[0] * 40 + arcs[1]);
        for a in &arcs[2..] {
            push(*a);
        }
    }
    der(tag::OID, &content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_round_trip() {
        let enc = der_oid("1.2.840.113549.1.12.10.1.2");
        let node = read_one(&enc).unwrap();
        assert_eq!(node.oid().unwrap(), "1.2.840.113549.1.12.10.1.2");
    }

    #[test]
    fn integers() {
        for v in [
            0u64,
            1,
            127,
            128,
            255,
            2048,
            600_000,
            10_000_001,
            u64::from(u32::MAX),
        ] {
            let enc = der_uint(v);
            let node = read_one(&enc).unwrap();
            assert_eq!(node.uint(), Some(v));
        }
    }

    #[test]
    fn long_lengths() {
        let body = vec![7u8; 70_000];
        let enc = der(tag::OCTET_STRING, &body);
        assert_eq!(&enc[..2], &[0x04, 0x83]);
        assert_eq!(read_one(&enc).unwrap().octets().unwrap().len(), 70_000);
    }

    #[test]
    fn indefinite_length_and_constructed_octets() {
        // SEQUENCE (indefinite) { OCTET STRING constructed (indefinite) { "ab", "c" } }
        let enc = [
            0x30, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x01, b'c', 0, 0, 0, 0,
        ];
        let seq = read_one(&enc).unwrap();
        let kids = seq.children().unwrap();
        assert_eq!(kids.len(), 1);
        assert_eq!(kids[0].base_tag(), tag::OCTET_STRING);
        assert_eq!(&*kids[0].octets().unwrap(), b"abc");
        let joined = kids[0].octets_zeroizing().unwrap();
        assert_eq!(&joined[..], b"abc");
        assert_eq!(joined.capacity(), 3, "one allocation of the final size");
    }

    #[test]
    fn truncated_and_lying_lengths_are_errors() {
        assert!(read_one(&[0x30, 0x05, 0x02, 0x01]).is_err());
        assert!(read_one(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(read_one(&[0x30, 0x80, 0x02, 0x01, 0x00]).is_err());
        assert!(read_one(&[]).is_err());
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut enc = vec![0x05, 0x00];
        for _ in 0..40 {
            enc = der(tag::SEQUENCE, &enc);
        }
        let mut node = read_one(&enc).unwrap();
        let mut failed = false;
        for _ in 0..40 {
            if let Ok(k) = node.children() {
                node = k[0];
            } else {
                failed = true;
                break;
            }
        }
        assert!(failed);
    }
}
