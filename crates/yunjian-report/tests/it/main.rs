//! The PDF read back by a real PDF reader (poppler's pdftotext and pdffonts, which
//! scripts/test installs with Debian's fonts-noto-cjk): the Chinese text comes out as
//! written and the font is embedded.

use std::process::Command;

use yunjian_report::{to_pdf, PdfFont, Report, Table};

const FONT: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
/// Noto Sans CJK's collection: JP, KR, SC, TC, HK; SC is the third face.
const SC: u32 = 2;

fn report(rows: usize) -> Report {
    Report {
        title: "政务云合规报告 · 重庆市教育委员会".into(),
        subtitle: "Compliance report of a tenant".into(),
        facts: vec![
            ("生成时间".into(), "2026-11-24 10:00 (UTC+8)".into()),
            ("检查批次".into(), "#7".into()),
        ],
        tables: vec![Table {
            title: "不符合项".into(),
            headers: vec!["条款".into(), "状态".into(), "责任方".into(), "说明".into()],
            rows: (0..rows)
                .map(|index| {
                    vec![
                        format!("7.2.2.{index}"),
                        "不符合".into(),
                        "云服务商".into(),
                        format!(
                            "数据中心仅接入一家运营商（第{index}项），应接入两家以上运营商的网络"
                        ),
                    ]
                })
                .collect(),
            widths: vec![1.0, 1.0, 1.2, 5.0],
        }],
    }
}

fn tool(name: &str, args: &[&str]) -> String {
    let output = Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("{name} is needed (poppler-utils): {error}"));
    assert!(
        output.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

#[test]
fn a_chinese_pdf_reads_back_in_a_real_reader_with_the_font_embedded() {
    let font = PdfFont::new(
        std::fs::read(FONT).expect("fonts-noto-cjk is installed"),
        SC,
    )
    .expect("the font loads");
    let pdf = to_pdf(&report(120), &font).expect("pdf");
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, &pdf).expect("write");
    if let Ok(keep) = std::env::var("YUNJIAN_KEEP_PDF") {
        std::fs::write(keep, &pdf).expect("keep");
    }
    let path = path.to_str().expect("path");

    let text = tool("pdftotext", &["-enc", "UTF-8", path, "-"]);
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(
        compact.contains("政务云合规报告·重庆市教育委员会"),
        "{text}"
    );
    assert!(
        compact.contains("数据中心仅接入一家运营商（第0项）"),
        "{text}"
    );
    assert!(compact.contains("第119项"), "the last row is there");
    // 120 rows do not fit one page: the footer counts pages.
    assert!(compact.contains("第2页"), "{text}");

    let fonts = tool("pdffonts", &[path]);
    let line = fonts
        .lines()
        .find(|line| line.contains("NotoSansCJK"))
        .unwrap_or_else(|| panic!("{fonts}"));
    assert!(line.contains(" yes yes "), "embedded and subset: {line}");
}
