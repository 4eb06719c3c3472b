//! Charts drawn in Rust with plotters: message rates and values over time, as SVG for the screen
//! and PNG or SVG for export. The UI shows them as images, never as markup. Never imports `tauri`.
