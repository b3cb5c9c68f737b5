//! Newtype ids. Every stored object has a positive 64-bit id assigned by the store.

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// Id of any world object; its kind says which table it lives in.
    ObjectId
);
id_type!(
    /// Id of a tenant (云租户).
    TenantId
);
id_type!(
    /// Id of a cloud service provider (云服务商).
    ProviderId
);
id_type!(
    /// Id of a login account.
    AccountId
);
