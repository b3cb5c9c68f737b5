//! Compliance reports as files: one plain-data [`Report`] (built by the app from a run's
//! results) rendered to CSV (UTF-8 with a byte-order mark, so spreadsheet programs read
//! the Chinese), XLSX and PDF. The PDF embeds a subset of a CJK font the caller supplies
//! (Debian's fonts-noto-cjk by default), so it reads correctly on a closed network.

use std::sync::Arc;

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use krilla::Document;

/// A table of a report: a title, headers and rows of text cells.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Relative column widths for the PDF (any positive numbers), one per header.
    pub widths: Vec<f32>,
}

/// A report, ready to render.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    pub title: String,
    pub subtitle: String,
    /// Label/value lines under the title (generated at, run, catalog version, …).
    pub facts: Vec<(String, String)>,
    pub tables: Vec<Table>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("the CJK font could not be read: {0}")]
    Font(String),
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
    #[error("the spreadsheet could not be written: {0}")]
    Xlsx(String),
    #[error("the CSV could not be written: {0}")]
    Csv(String),
}

/// CSV: every table one after the other, a title line before each, UTF-8 with a BOM.
pub fn to_csv(report: &Report) -> Result<Vec<u8>, ReportError> {
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(vec![0xEF, 0xBB, 0xBF]);
    let error = |error: csv::Error| ReportError::Csv(error.to_string());
    writer
        .write_record([report.title.as_str()])
        .map_err(error)?;
    for (label, value) in &report.facts {
        writer
            .write_record([label.as_str(), value.as_str()])
            .map_err(error)?;
    }
    for table in &report.tables {
        writer.write_record([""]).map_err(error)?;
        writer.write_record([table.title.as_str()]).map_err(error)?;
        writer.write_record(&table.headers).map_err(error)?;
        for row in &table.rows {
            writer.write_record(row).map_err(error)?;
        }
    }
    writer
        .into_inner()
        .map_err(|error| ReportError::Csv(error.to_string()))
}

/// XLSX: a summary sheet with the facts, then one sheet per table.
pub fn to_xlsx(report: &Report) -> Result<Vec<u8>, ReportError> {
    use rust_xlsxwriter::{Format, Workbook};
    let error = |error: rust_xlsxwriter::XlsxError| ReportError::Xlsx(error.to_string());
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    let summary = workbook.add_worksheet();
    summary.set_name("概要").map_err(error)?;
    summary.set_column_width(0, 24).map_err(error)?;
    summary.set_column_width(1, 80).map_err(error)?;
    summary
        .write_string_with_format(0, 0, &report.title, &bold)
        .map_err(error)?;
    summary
        .write_string(1, 0, &report.subtitle)
        .map_err(error)?;
    for (index, (label, value)) in report.facts.iter().enumerate() {
        let row = index as u32 + 3;
        summary
            .write_string_with_format(row, 0, label, &bold)
            .map_err(error)?;
        summary.write_string(row, 1, value).map_err(error)?;
    }
    for (index, table) in report.tables.iter().enumerate() {
        let sheet = workbook.add_worksheet();
        // Sheet names: at most 31 characters, none of []:*?/\ .
        let mut name: String = table
            .title
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(28)
            .collect();
        if name.trim().is_empty() {
            name = format!("表{}", index + 1);
        }
        sheet
            .set_name(format!("{}{}", index + 1, name))
            .map_err(error)?;
        for (column, header) in table.headers.iter().enumerate() {
            sheet
                .write_string_with_format(0, column as u16, header, &bold)
                .map_err(error)?;
            let weight = table.widths.get(column).copied().unwrap_or(1.0);
            sheet
                .set_column_width(column as u16, f64::from((weight * 12.0).clamp(8.0, 90.0)))
                .map_err(error)?;
        }
        for (row_index, row) in table.rows.iter().enumerate() {
            for (column, cell) in row.iter().enumerate() {
                sheet
                    .write_string_with_format(row_index as u32 + 1, column as u16, cell, &wrap)
                    .map_err(error)?;
            }
        }
        sheet.set_freeze_panes(1, 0).map_err(error)?;
        if !table.headers.is_empty() {
            sheet
                .autofilter(
                    0,
                    0,
                    table.rows.len() as u32,
                    table.headers.len() as u16 - 1,
                )
                .map_err(error)?;
        }
    }
    workbook.save_to_buffer().map_err(error)
}

/// A CJK font for PDFs: the bytes of a TrueType/OpenType file or collection and the
/// face's index in it.
#[derive(Clone)]
pub struct PdfFont {
    font: Font,
}

impl PdfFont {
    pub fn new(data: Vec<u8>, index: u32) -> Result<PdfFont, ReportError> {
        let font = Font::new(Arc::new(data).into(), index)
            .ok_or_else(|| ReportError::Font(format!("no usable face at index {index}")))?;
        Ok(PdfFont { font })
    }
}

impl std::fmt::Debug for PdfFont {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("PdfFont")
    }
}

const PAGE_WIDTH: f32 = 595.0; // A4, points
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 40.0;
const BODY_SIZE: f32 = 8.5;
const LINE: f32 = 11.0;
const CELL_PAD: f32 = 3.0;

/// The width a string takes at `size`, estimated: CJK and full-width characters are
/// one em, the rest about 0.6 em (Noto Sans CJK's proportional Latin is narrower, so
/// lines never overflow their cell).
fn text_width(text: &str, size: f32) -> f32 {
    text.chars()
        .map(|c| if (c as u32) < 0x2E80 { 0.6 } else { 1.0 })
        .sum::<f32>()
        * size
}

/// Breaks text into lines that fit `width`, at spaces for Latin words and anywhere
/// between CJK characters; keeps explicit newlines.
fn wrap(text: &str, width: f32, size: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        let mut word = String::new();
        let flush_word = |line: &mut String, word: &mut String, lines: &mut Vec<String>| {
            if word.is_empty() {
                return;
            }
            if text_width(line, size) + text_width(word, size) > width && !line.is_empty() {
                lines.push(std::mem::take(line).trim_end().to_owned());
            }
            // A word longer than the cell is cut.
            while text_width(word, size) > width {
                let mut cut = String::new();
                for c in word.chars() {
                    if text_width(&cut, size) + text_width(&c.to_string(), size) > width {
                        break;
                    }
                    cut.push(c);
                }
                if cut.is_empty() {
                    break;
                }
                let rest = word[cut.len()..].to_owned();
                lines.push(cut);
                *word = rest;
            }
            line.push_str(word);
            word.clear();
        };
        for c in paragraph.chars() {
            if (c as u32) >= 0x2E80 {
                flush_word(&mut line, &mut word, &mut lines);
                if text_width(&line, size) + size > width && !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                line.push(c);
            } else if c == ' ' {
                word.push(c);
                flush_word(&mut line, &mut word, &mut lines);
            } else {
                word.push(c);
            }
        }
        flush_word(&mut line, &mut word, &mut lines);
        lines.push(line.trim_end().to_owned());
    }
    lines
}

struct Writer<'a> {
    document: Document,
    font: &'a PdfFont,
    /// Lines of the current page: (x, y, size, text), and rectangles (x, y, w, h, grey).
    texts: Vec<(f32, f32, f32, String)>,
    boxes: Vec<(f32, f32, f32, f32, u8)>,
    y: f32,
    page_number: usize,
    footer: String,
}

impl Writer<'_> {
    fn flush_page(&mut self) {
        if self.texts.is_empty() && self.boxes.is_empty() {
            return;
        }
        self.page_number += 1;
        let footer = format!("{} · 第 {} 页", self.footer, self.page_number);
        self.texts.push((MARGIN, PAGE_HEIGHT - 20.0, 7.0, footer));
        let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT).unwrap_or_default();
        let mut page = self.document.start_page_with(settings);
        let mut surface = page.surface();
        for (x, y, w, h, grey) in self.boxes.drain(..) {
            let Some(rect) = Rect::from_xywh(x, y, w, h) else {
                continue;
            };
            let mut builder = PathBuilder::new();
            builder.push_rect(rect);
            let Some(path) = builder.finish() else {
                continue;
            };
            surface.set_stroke(Some(Stroke {
                paint: rgb::Color::new(160, 160, 160).into(),
                width: 0.4,
                ..Default::default()
            }));
            surface.set_fill(if grey < 255 {
                Some(Fill {
                    paint: rgb::Color::new(grey, grey, grey).into(),
                    ..Default::default()
                })
            } else {
                None
            });
            surface.draw_path(&path);
        }
        surface.set_stroke(None);
        surface.set_fill(Some(Fill::default()));
        for (x, y, size, text) in self.texts.drain(..) {
            surface.draw_text(
                Point::from_xy(x, y),
                self.font.font.clone(),
                size,
                &text,
                false,
                TextDirection::Auto,
            );
        }
        surface.finish();
        page.finish();
        self.y = MARGIN;
    }

    fn need(&mut self, height: f32) {
        if self.y + height > PAGE_HEIGHT - MARGIN {
            self.flush_page();
        }
    }

    fn line(&mut self, text: &str, size: f32) {
        let width = PAGE_WIDTH - 2.0 * MARGIN;
        for line in wrap(text, width, size) {
            self.need(size * 1.4);
            self.y += size * 1.4;
            self.texts.push((MARGIN, self.y, size, line));
        }
    }

    fn table(&mut self, table: &Table) {
        let width = PAGE_WIDTH - 2.0 * MARGIN;
        let total: f32 = table
            .headers
            .iter()
            .enumerate()
            .map(|(index, _)| table.widths.get(index).copied().unwrap_or(1.0).max(0.1))
            .sum();
        let widths: Vec<f32> = (0..table.headers.len())
            .map(|index| table.widths.get(index).copied().unwrap_or(1.0).max(0.1) / total * width)
            .collect();
        self.y += 6.0;
        self.line(&table.title, 11.0);
        self.y += 3.0;
        let header = table.headers.clone();
        self.row(&header, &widths, 230);
        for row in &table.rows {
            self.row(row, &widths, 255);
        }
    }

    fn row(&mut self, cells: &[String], widths: &[f32], grey: u8) {
        let wrapped: Vec<Vec<String>> = widths
            .iter()
            .enumerate()
            .map(|(index, width)| {
                wrap(
                    cells.get(index).map_or("", String::as_str),
                    width - 2.0 * CELL_PAD,
                    BODY_SIZE,
                )
            })
            .collect();
        let lines = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
        // A row taller than a page is cut into page-sized pieces.
        let mut start = 0;
        while start < lines {
            let room = ((PAGE_HEIGHT - MARGIN - self.y - 2.0 * CELL_PAD) / LINE).floor() as usize;
            if room == 0 {
                self.flush_page();
                continue;
            }
            let take = room.min(lines - start);
            let height = take as f32 * LINE + 2.0 * CELL_PAD;
            let mut x = MARGIN;
            for (index, width) in widths.iter().enumerate() {
                self.boxes.push((x, self.y, *width, height, grey));
                for (line_index, line) in wrapped[index].iter().skip(start).take(take).enumerate() {
                    self.texts.push((
                        x + CELL_PAD,
                        self.y + CELL_PAD + (line_index as f32 + 1.0) * LINE - 2.5,
                        BODY_SIZE,
                        line.clone(),
                    ));
                }
                x += width;
            }
            self.y += height;
            start += take;
        }
    }
}

/// PDF, A4, the font embedded (subset).
pub fn to_pdf(report: &Report, font: &PdfFont) -> Result<Vec<u8>, ReportError> {
    let mut writer = Writer {
        document: Document::new(),
        font,
        texts: Vec::new(),
        boxes: Vec::new(),
        y: MARGIN,
        page_number: 0,
        footer: report.title.clone(),
    };
    writer.line(&report.title, 16.0);
    if !report.subtitle.is_empty() {
        writer.line(&report.subtitle, 10.0);
    }
    writer.y += 4.0;
    for (label, value) in &report.facts {
        writer.line(&format!("{label}：{value}"), 9.0);
    }
    for table in &report.tables {
        writer.table(table);
    }
    writer.flush_page();
    if writer.page_number == 0 {
        return Err(ReportError::Pdf("nothing to write".into()));
    }
    writer
        .document
        .finish()
        .map_err(|error| ReportError::Pdf(format!("{error:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        Report {
            title: "合规报告 · 重庆市教育委员会".into(),
            subtitle: "Compliance report".into(),
            facts: vec![("检查批次".into(), "#3".into())],
            tables: vec![Table {
                title: "条款结果".into(),
                headers: vec!["条款".into(), "状态".into(), "说明".into()],
                rows: vec![vec![
                    "7.2.2.2".into(),
                    "不符合".into(),
                    "数据中心仅接入一家运营商, china_telecom only".into(),
                ]],
                widths: vec![1.0, 1.0, 4.0],
            }],
        }
    }

    #[test]
    fn csv_starts_with_a_bom_and_quotes_what_needs_it() {
        let csv = to_csv(&sample()).expect("csv");
        assert_eq!(&csv[..3], &[0xEF, 0xBB, 0xBF]);
        let text = String::from_utf8(csv[3..].to_vec()).expect("utf-8");
        assert!(
            text.contains("\"数据中心仅接入一家运营商, china_telecom only\""),
            "{text}"
        );
    }

    #[test]
    fn xlsx_is_a_zip() {
        let xlsx = to_xlsx(&sample()).expect("xlsx");
        assert_eq!(&xlsx[..2], b"PK");
    }

    #[test]
    fn wrapping_keeps_every_character_and_fits() {
        let text = "应保证云计算基础设施位于重庆市行政区域内 and some English words that go on";
        let lines = wrap(text, 120.0, 8.5);
        assert!(lines.len() > 1);
        assert!(lines
            .iter()
            .all(|line| text_width(line, 8.5) <= 120.0 + 0.01));
        let joined: String = lines.concat();
        assert_eq!(
            joined.replace(' ', ""),
            text.replace(' ', ""),
            "no character is lost"
        );
    }
}
