//! The AWS SDK configuration shared by `aws-sm://` secrets (`secrets::aws`) and the SNS + SQS
//! events adapter (`events::aws`): the standard AWS chain, with a region override, or fully
//! explicit settings that read nothing from the environment.
//!
//! Each caller turns the loaded [`SdkConfig`](aws_config::SdkConfig) into its service's config with
//! `<service>::config::Builder::from(&shared)` (which applies `AWS_ENDPOINT_URL_<SERVICE>` /
//! `AWS_ENDPOINT_URL`) and then applies its own endpoint override.

use aws_config::{BehaviorVersion, ConfigLoader, Region};

/// A loader for the shared configuration. With `isolated` (the caller gives the region and
/// fixed credentials itself) no environment variable is read; otherwise the standard chain
/// (environment, profile, web identity, ECS task role, instance profile) fills what `region`
/// leaves unset. The caller adds credentials with `ConfigLoader::credentials_provider`.
pub(crate) fn loader(region: Option<&str>, isolated: bool) -> ConfigLoader {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if isolated {
        loader = loader.empty_test_environment();
    }
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_owned()));
    }
    loader
}
