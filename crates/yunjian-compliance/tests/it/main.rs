//! The shipped catalog against its sources: the guide's text and the reference tables in
//! `../shared/spec/`, and the loader's refusals of bad catalog files.

mod catalog;
