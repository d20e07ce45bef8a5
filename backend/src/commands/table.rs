//! rpk's way of printing: sections with an underlined title, and columns aligned with two
//! spaces between them, so a student following an rpk tutorial reads the same shapes.

use std::io::Write;

/// A section title, underlined as rpk does (`BROKERS` over `=======`).
pub fn section(out: &mut impl Write, title: &str) -> std::io::Result<()> {
    writeln!(out, "{title}\n{}", "=".repeat(title.chars().count()))
}

/// Rows under a header row, each column as wide as its widest cell.
pub fn table(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |out: &mut dyn Write, cells: &mut dyn Iterator<Item = &str>| -> std::io::Result<()> {
        let mut text = String::new();
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            text.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(out, &mut header.iter().copied())?;
    for row in rows {
        line(out, &mut row.iter().map(String::as_str))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_like_rpk() {
        let mut out = Vec::new();
        table(
            &mut out,
            &["NAME", "PARTITIONS"],
            &[vec!["a_long_name".into(), "3".into()], vec!["b".into(), "12".into()]],
        )
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "NAME         PARTITIONS\na_long_name  3\nb            12\n");
        let mut out = Vec::new();
        section(&mut out, "BROKERS").unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "BROKERS\n=======\n");
    }
}
