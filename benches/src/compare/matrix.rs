//! The cells of the benchmark: connections × size × in-flight × type.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::cli::format_size;
use crate::payload::MessageKind;

/// One point of the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// Concurrent connections.
    pub connections: usize,
    /// Payload bytes per message.
    pub size: usize,
    /// Messages outstanding per connection.
    pub inflight: usize,
    /// Text or binary.
    pub kind: MessageKind,
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} conn × {} × {} in flight, {}",
            self.connections,
            format_size(self.size),
            self.inflight,
            self.kind.name()
        )
    }
}

/// The values each axis takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matrix {
    /// Connection counts.
    pub connections: Vec<usize>,
    /// Payload sizes.
    pub sizes: Vec<usize>,
    /// In-flight depths.
    pub inflight: Vec<usize>,
    /// Message types.
    pub kinds: Vec<MessageKind>,
}

impl Matrix {
    /// The full matrix: 1/64/512 connections × 20 B/1 KiB/64 KiB × 1 and 8 in
    /// flight × text and binary (36 cells).
    pub fn full() -> Self {
        Self {
            connections: vec![1, 64, 512],
            sizes: vec![20, 1024, 64 * 1024],
            inflight: vec![1, 8],
            kinds: vec![MessageKind::Text, MessageKind::Binary],
        }
    }

    /// The `--quick` subset: 1/64 connections × 20 B/64 KiB × 8 in flight ×
    /// text and binary (8 cells).
    pub fn quick() -> Self {
        Self {
            connections: vec![1, 64],
            sizes: vec![20, 64 * 1024],
            inflight: vec![8],
            kinds: vec![MessageKind::Text, MessageKind::Binary],
        }
    }

    /// Every cell, connections varying slowest and type fastest.
    pub fn cells(&self) -> Vec<Cell> {
        let mut cells = Vec::new();
        for &connections in &self.connections {
            for &size in &self.sizes {
                for &inflight in &self.inflight {
                    for &kind in &self.kinds {
                        cells.push(Cell {
                            connections,
                            size,
                            inflight,
                            kind,
                        });
                    }
                }
            }
        }
        cells
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_matrix_has_36_cells_in_order() {
        let cells = Matrix::full().cells();
        assert_eq!(cells.len(), 36);
        assert_eq!(
            cells[0],
            Cell {
                connections: 1,
                size: 20,
                inflight: 1,
                kind: MessageKind::Text
            }
        );
        assert_eq!(cells[35].connections, 512);
        assert_eq!(Matrix::quick().cells().len(), 8);
    }
}
