//! Distances between datacentres: geodesics on the WGS-84 ellipsoid (Karney's algorithm,
//! `geographiclib-rs`). CGCS2000 differs from WGS-84 by centimetres, which is nothing at
//! these distances; GCJ-02 points carry their own uncertainty (see controls.rs).

use geographiclib_rs::{Geodesic, InverseGeodesic};

/// The distance in metres between two points given in degrees.
pub fn geodesic_distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let distance: f64 = Geodesic::wgs84().inverse(lat1, lon1, lat2, lon2);
    distance
}
