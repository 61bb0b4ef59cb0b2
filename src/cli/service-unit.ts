/**
 * The systemd unit chainpool installs (deploy/chainpool.service is this text with the
 * defaults; a test keeps the two equal and runs `systemd-analyze verify` on it).
 */
export interface ServiceUnitOptions {
  /** Where the executable is installed. */
  bin: string;
  /** The system user the daemon runs as. */
  user: string;
}

export const SERVICE_DEFAULTS: ServiceUnitOptions = { bin: "/usr/local/bin/chainpool", user: "chainpool" };

export function serviceUnit(o: ServiceUnitOptions = SERVICE_DEFAULTS): string {
  return `# chainpool: a pool of ready blockchain clusters behind Cello's REST API v2.
# Installed by \`chainpool install-service\`; config in /etc/chainpool/config.toml,
# state (SQLite file, local clusters' ledgers) in /var/lib/chainpool.
[Unit]
Description=chainpool blockchain cluster pool
After=network-online.target
Wants=network-online.target

[Service]
Type=exec
User=${o.user}
Group=${o.user}
ExecStart=${o.bin} serve --config /etc/chainpool/config.toml --data /var/lib/chainpool
# Created and owned by ${o.user}: the only places the daemon writes.
StateDirectory=chainpool
StateDirectoryMode=0750
ConfigurationDirectory=chainpool
WorkingDirectory=/var/lib/chainpool
# SIGTERM: chainpool stops taking requests, finishes those in flight and exits 0 within 20 s.
# Only the daemon gets the signal: nodes of local clusters keep running and the next start
# adopts them (KillMode=process), so a restart does not rebuild the pool.
KillMode=process
KillSignal=SIGTERM
TimeoutStopSec=30
Restart=on-failure
RestartSec=2
LimitNOFILE=65536
# Hardening that fits a daemon which spawns node processes and serves on the network.
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
PrivateTmp=true
PrivateDevices=true
ProtectKernelTunables=true
ProtectKernelModules=true
ProtectControlGroups=true
RestrictSUIDSGID=true
LockPersonality=true
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6

[Install]
WantedBy=multi-user.target
`;
}
