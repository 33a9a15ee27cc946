# syntax=docker/dockerfile:1
# The stash image: the `stash` binary and the database client tools its addons call, so one
# image serves every catalog version (the catalog's Functions name it:
# ${STASH_DOCKER_REGISTRY:=stashed}/${STASH_DOCKER_IMAGE:=stash-rs}:${STASH_IMAGE_TAG:=latest}).
#
#   docker build -t stashed/stash-rs:latest .
#
# PostgreSQL's pg_dump reads servers of its own major version and older, so the client comes
# from PostgreSQL's own Debian repository at the newest major (PG_MAJOR); MariaDB's client
# tools are Debian's. MongoDB and Redis are spoken natively by the addons: no tools for them.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS build
WORKDIR /src
COPY . .
# The registry and the target folder are BuildKit caches, so a rebuild after a source change
# compiles only what changed; the binary is copied out of the cache.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p stash-controller --bin stash \
    && cp target/release/stash /usr/local/bin/stash

FROM debian:${DEBIAN_RELEASE}-slim
ARG DEBIAN_RELEASE
ARG PG_MAJOR=18
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Versions are not pinned: the point of this layer is the newest client of each database
# (Debian's security updates for MariaDB, PGDG's newest minor), taken when the image is built.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl gnupg \
    && curl -fsSL https://www.postgresql.org/media/keys/ACCC4CF8.asc \
       | gpg --dearmor -o /usr/share/keyrings/postgresql.gpg \
    && echo "deb [signed-by=/usr/share/keyrings/postgresql.gpg] https://apt.postgresql.org/pub/repos/apt ${DEBIAN_RELEASE}-pgdg main" \
       > /etc/apt/sources.list.d/pgdg.list \
    && apt-get update \
    && apt-get install -y --no-install-recommends "postgresql-client-${PG_MAJOR}" mariadb-client tini \
    && apt-get purge -y --auto-remove curl gnupg \
    && rm -rf /var/lib/apt/lists/*
# Every client tool an addon runs (stash_addons::CLIENT_TOOLS; a test keeps this line in step).
RUN pg_dump --version && pg_dumpall --version && psql --version \
    && mariadb-dump --version && mariadb --version && mysqldump --version && mysql --version
COPY --from=build /usr/local/bin/stash /usr/local/bin/stash
# Not root. By default the image runs local mode: manifests mounted read-only at
# /etc/stash/manifests, state in the /var/lib/stash volume, metrics on 9090. (No STASH_STATE
# or STASH_MANIFESTS in the environment: a catalog Function's step in a cluster must not
# take the image for local mode.) tini reaps the step processes `stash run` starts.
RUN useradd --system --uid 65532 --user-group --home-dir /var/lib/stash --create-home stash
USER 65532:65532
WORKDIR /var/lib/stash
VOLUME ["/var/lib/stash"]
EXPOSE 9090
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/stash"]
CMD ["run", "--manifests", "/etc/stash/manifests", "--state", "/var/lib/stash", "--metrics-addr", "0.0.0.0:9090"]
