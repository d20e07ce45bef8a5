//! rpk's way of printing: sections with an underlined title, and columns aligned with two
//! spaces between them, so a student following an rpk tutorial reads the same shapes.

use std::io::Write;

/// A section title, underlined as rpk does (`BROKERS` over `=======`).
pub fn section(out: &mut impl Write, title: &str) -> std::io::Result<()> {
    writeln!(out, "{title}\n{}", "=".repeat(title.chars().count()))
}

/// Rows under a header row, each column as wide as its widest cell.
pub fn table(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut all = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    all.extend_from_slice(rows);
    aligned(out, &all)
}

/// Rows without a header, aligned the same way: rpk's `NAME  value` summaries.
pub fn aligned(out: &mut impl Write, rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        widths.resize(widths.len().max(row.len()), 0);
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in rows {
        let mut text = String::new();
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            text.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
        }
        writeln!(out, "{}", text.trim_end())?;
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
        aligned(&mut out, &[vec!["NAME".into(), "orders".into()], vec!["PARTITIONS".into(), "3".into()]]).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "NAME        orders\nPARTITIONS  3\n");
        let mut out = Vec::new();
        section(&mut out, "BROKERS").unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "BROKERS\n=======\n");
    }
}
