//! Replacing the generated section of a README between two marker lines.

/// Line that opens the generated section.
pub const BEGIN: &str = "<!-- bench:echo:begin -->";
/// Line that closes the generated section.
pub const END: &str = "<!-- bench:echo:end -->";

/// `text` with everything between the [`BEGIN`] and [`END`] lines replaced
/// by `section`, or `None` unless both markers are present in that order.
pub fn replace_section(text: &str, section: &str) -> Option<String> {
    let begin = find_line(text, BEGIN, 0)?;
    let body_start = begin + BEGIN.len();
    let end = find_line(text, END, body_start)?;
    let mut out = String::with_capacity(text.len() + section.len());
    out.push_str(&text[..body_start]);
    out.push('\n');
    out.push_str(section.trim_end_matches('\n'));
    out.push('\n');
    out.push_str(&text[end..]);
    Some(out)
}

/// Byte offset of the first line at or after `from` that is exactly `marker`
/// (ignoring surrounding whitespace).
fn find_line(text: &str, marker: &str, from: usize) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if offset >= from && line.trim() == marker {
            return Some(offset + (line.len() - line.trim_start().len()));
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_between_markers_only() {
        let text = format!("# T\n\nintro\n{BEGIN}\nold\nrows\n{END}\nafter\n");
        let out = replace_section(&text, "new table\n").unwrap();
        assert_eq!(
            out,
            format!("# T\n\nintro\n{BEGIN}\nnew table\n{END}\nafter\n")
        );
        // Idempotent.
        assert_eq!(replace_section(&out, "new table").unwrap(), out);
    }

    #[test]
    fn empty_section_and_missing_markers() {
        let text = format!("{BEGIN}\n{END}");
        assert_eq!(
            replace_section(&text, "x").unwrap(),
            format!("{BEGIN}\nx\n{END}")
        );
        assert_eq!(replace_section("no markers", "x"), None);
        assert_eq!(replace_section(&format!("{END}\n{BEGIN}\n"), "x"), None);
        assert_eq!(
            replace_section(&format!("see {BEGIN} inline\n{END}\n"), "x"),
            None
        );
    }
}
