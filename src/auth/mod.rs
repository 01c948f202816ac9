//! Request authentication schemes beyond the token: `SDK-HMAC-SHA256` signatures as
//! the official Huawei Cloud SDKs produce them.

pub mod sdk_signature;
