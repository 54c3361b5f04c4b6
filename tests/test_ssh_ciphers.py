"""The sensor connection prefers AES-GCM (the capture's stream decrypts in under half the CPU) unless the user's ssh
config names the ciphers for the host, against the real sshd in a network namespace."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.root


async def negotiated(host, ssh_config: list[str]) -> bytes:
    sensor = await host.trusted(ssh_config=ssh_config)
    try:
        return sensor.conn._enc_alg_sc  # asyncssh keeps the negotiated server-to-client cipher only here
    finally:
        sensor.close()


async def test_aes_gcm_is_preferred_and_a_configured_cipher_is_kept(sensor_host, tmp_path):
    assert await negotiated(sensor_host, []) == b"aes128-gcm@openssh.com"
    config = tmp_path / "config"
    config.write_text(f"Host {sensor_host.address}\n  Ciphers chacha20-poly1305@openssh.com\n")
    assert await negotiated(sensor_host, [str(config)]) == b"chacha20-poly1305@openssh.com"
    other = tmp_path / "other"
    other.write_text("Host 192.0.2.99\n  Ciphers aes256-ctr\n")
    assert await negotiated(sensor_host, [str(other)]) == b"aes128-gcm@openssh.com"
