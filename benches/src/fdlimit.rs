//! Raising the open-file limit, so that thousands of sockets fit.

/// Raises this process's soft `RLIMIT_NOFILE` to its hard limit and returns
/// the new soft limit. Child processes inherit it.
pub fn raise_nofile_limit() -> std::io::Result<u64> {
    let (_, hard) = rlimit::Resource::NOFILE.get()?;
    rlimit::increase_nofile_limit(hard)
}

/// Fails with a readable message unless `needed` descriptors fit the limit.
pub fn ensure_nofile(needed: u64) -> Result<u64, String> {
    let limit = raise_nofile_limit().map_err(|e| format!("cannot raise RLIMIT_NOFILE: {e}"))?;
    if limit < needed {
        return Err(format!(
            "RLIMIT_NOFILE is {limit} but about {needed} descriptors are needed \
             (raise the hard limit, e.g. `ulimit -Hn`)"
        ));
    }
    Ok(limit)
}
