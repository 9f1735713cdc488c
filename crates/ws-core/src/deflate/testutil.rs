//! Test-only DEFLATE tools independent of zlib: a small reference inflater
//! (records the farthest back-reference) and a fixed-Huffman block encoder
//! (to hand-craft streams with chosen match distances).

#[allow(unused_imports)]
use std::{
    borrow::ToOwned,
    boxed::Box,
    string::{String, ToString},
    vec::Vec,
};
#[allow(unused_imports)]
use std::{format, vec};

const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// Result of [`reference_inflate`].
pub(crate) struct Inflated {
    pub out: Vec<u8>,
    /// Largest match distance seen.
    pub max_dist: usize,
}

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn bit(&mut self) -> Result<u32, &'static str> {
        let byte = *self.data.get(self.pos / 8).ok_or("truncated")?;
        let b = (byte >> (self.pos % 8)) & 1;
        self.pos += 1;
        Ok(u32::from(b))
    }

    fn bits(&mut self, n: u8) -> Result<u32, &'static str> {
        let mut v = 0;
        for i in 0..n {
            v |= self.bit()? << i;
        }
        Ok(v)
    }
}

struct Huffman {
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Self {
        let mut counts = [0u16; 16];
        for &l in lengths {
            counts[usize::from(l)] += 1;
        }
        counts[0] = 0;
        let mut offs = [0u16; 16];
        for len in 1..15 {
            offs[len + 1] = offs[len] + counts[len];
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (sym, &l) in lengths.iter().enumerate() {
            if l != 0 {
                symbols[usize::from(offs[usize::from(l)])] = sym as u16;
                offs[usize::from(l)] += 1;
            }
        }
        Huffman { counts, symbols }
    }

    fn decode(&self, bits: &mut Bits<'_>) -> Result<u16, &'static str> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= bits.bit()? as i32;
            let count = i32::from(self.counts[len]);
            if code - count < first {
                return Ok(self.symbols[(index + (code - first)) as usize]);
            }
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        Err("bad code")
    }
}

fn fixed_tables() -> (Huffman, Huffman) {
    let mut l = [0u8; 288];
    l[..144].fill(8);
    l[144..256].fill(9);
    l[256..280].fill(7);
    l[280..].fill(8);
    (Huffman::new(&l), Huffman::new(&[5u8; 30]))
}

/// Inflates a raw DEFLATE stream made of whole blocks (as a permessage-deflate
/// message with its tail re-appended is), stopping at a final block or at the
/// end of the data on a block boundary.
pub(crate) fn reference_inflate(data: &[u8]) -> Result<Inflated, &'static str> {
    let mut bits = Bits { data, pos: 0 };
    let mut out = Vec::new();
    let mut max_dist = 0;
    loop {
        if bits.pos == data.len() * 8 {
            break;
        }
        let last = bits.bit()?;
        match bits.bits(2)? {
            0 => {
                bits.pos = bits.pos.div_ceil(8) * 8;
                let len = bits.bits(16)?;
                let nlen = bits.bits(16)?;
                if len != !nlen & 0xffff {
                    return Err("stored length mismatch");
                }
                for _ in 0..len {
                    out.push(bits.bits(8)? as u8);
                }
            }
            t @ (1 | 2) => {
                let (lit, dist) = if t == 1 {
                    fixed_tables()
                } else {
                    let nlen = bits.bits(5)? as usize + 257;
                    let ndist = bits.bits(5)? as usize + 1;
                    let ncode = bits.bits(4)? as usize + 4;
                    const ORDER: [usize; 19] = [
                        16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
                    ];
                    let mut cl = [0u8; 19];
                    for &o in &ORDER[..ncode] {
                        cl[o] = bits.bits(3)? as u8;
                    }
                    let clh = Huffman::new(&cl);
                    let mut lengths = Vec::with_capacity(nlen + ndist);
                    while lengths.len() < nlen + ndist {
                        let sym = clh.decode(&mut bits)?;
                        match sym {
                            0..=15 => lengths.push(sym as u8),
                            16 => {
                                let prev = *lengths.last().ok_or("repeat without previous")?;
                                let n = 3 + bits.bits(2)?;
                                lengths.extend(core::iter::repeat_n(prev, n as usize));
                            }
                            17 => {
                                let n = 3 + bits.bits(3)?;
                                lengths.extend(core::iter::repeat_n(0, n as usize));
                            }
                            _ => {
                                let n = 11 + bits.bits(7)?;
                                lengths.extend(core::iter::repeat_n(0, n as usize));
                            }
                        }
                    }
                    if lengths.len() != nlen + ndist {
                        return Err("code lengths overflow");
                    }
                    (
                        Huffman::new(&lengths[..nlen]),
                        Huffman::new(&lengths[nlen..]),
                    )
                };
                loop {
                    let sym = lit.decode(&mut bits)?;
                    if sym < 256 {
                        out.push(sym as u8);
                    } else if sym == 256 {
                        break;
                    } else {
                        let i = usize::from(sym - 257);
                        if i >= 29 {
                            return Err("bad length symbol");
                        }
                        let len = usize::from(LEN_BASE[i]) + bits.bits(LEN_EXTRA[i])? as usize;
                        let d = usize::from(dist.decode(&mut bits)?);
                        if d >= 30 {
                            return Err("bad distance symbol");
                        }
                        let d = usize::from(DIST_BASE[d]) + bits.bits(DIST_EXTRA[d])? as usize;
                        if d > out.len() {
                            return Err("distance too far back");
                        }
                        max_dist = max_dist.max(d);
                        for _ in 0..len {
                            out.push(out[out.len() - d]);
                        }
                    }
                }
            }
            _ => return Err("reserved block type"),
        }
        if last == 1 {
            break;
        }
    }
    Ok(Inflated { out, max_dist })
}

/// A token for [`fixed_block_payload`].
#[derive(Clone, Copy)]
pub(crate) enum Token {
    Lit(u8),
    Match { len: u16, dist: u16 },
}

struct BitWriter {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl BitWriter {
    fn put(&mut self, value: u32, bits: u32) {
        self.acc |= value << self.n;
        self.n += bits;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// Huffman codes go out most significant bit first.
    fn put_code(&mut self, code: u32, bits: u32) {
        let rev = code.reverse_bits() >> (32 - bits);
        self.put(rev, bits);
    }

    fn put_lit_len(&mut self, sym: u32) {
        match sym {
            0..=143 => self.put_code(0x30 + sym, 8),
            144..=255 => self.put_code(0x190 + sym - 144, 9),
            256..=279 => self.put_code(sym - 256, 7),
            _ => self.put_code(0xc0 + sym - 280, 8),
        }
    }
}

/// A permessage-deflate payload (tail stripped) holding one fixed-Huffman
/// block with `tokens`, followed by the header of an empty stored block.
pub(crate) fn fixed_block_payload(tokens: &[Token]) -> Vec<u8> {
    let mut w = BitWriter {
        out: Vec::new(),
        acc: 0,
        n: 0,
    };
    w.put(0b010, 3); // BFINAL=0, BTYPE=01
    for &t in tokens {
        match t {
            Token::Lit(b) => w.put_lit_len(u32::from(b)),
            Token::Match { len, dist } => {
                let i = LEN_BASE.iter().rposition(|&b| b <= len).unwrap();
                let i = if len == 258 { 28 } else { i.min(27) };
                w.put_lit_len(257 + i as u32);
                w.put(u32::from(len - LEN_BASE[i]), u32::from(LEN_EXTRA[i]));
                let d = DIST_BASE.iter().rposition(|&b| b <= dist).unwrap();
                w.put_code(d as u32, 5);
                w.put(u32::from(dist - DIST_BASE[d]), u32::from(DIST_EXTRA[d]));
            }
        }
    }
    w.put_lit_len(256);
    w.put(0, 3); // empty stored block header; LEN/NLEN come from the tail
    if w.n > 0 {
        w.put(0, 8 - w.n);
    }
    w.out
}
