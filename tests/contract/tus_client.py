"""tuspy (the tus project's Python client, `tuspy` on PyPI) uploads evidence to a live cdt-api: run by
tests/contract/run.py with the interpreter of its virtualenv.

    python tus_client.py BASE_URL LEADER_USERNAME PASSWORD

As the team leader: uploads a 700 KB file in 256 KB chunks with `Upload-Checksum: sha256`, stops after the
first chunk (the phone lost its signal), resumes with a new uploader from the upload's URL (tuspy asks
`HEAD` for the offset), attaches the finished upload to one of the leader's sessions as an attendance
sheet, downloads it and compares the bytes; checks that a chunk whose checksum is wrong is refused with
tus status 460. Exits non-zero otherwise.
"""

import hashlib
import io
import json
import sys
import urllib.request

from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError
from tusclient.uploader import Uploader


class Sha256Uploader(Uploader):
    """tuspy checksums with sha1 by default; cdt-api offers sha256 (Tus-Checksum-Algorithm)."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


class WrongChecksumUploader(Sha256Uploader):
    """Sends a digest of other bytes."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", lambda data: hashlib.sha256(data + b"!"))


def call(base, method, path, token=None, body=None, raw=False):
    request = urllib.request.Request(base + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        data = response.read()
        return data if raw else (json.loads(data) if data else None)


def fail(message):
    print(f"tus client check failed: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    base, leader, password = sys.argv[1:4]
    token = call(base, "POST", "/api/v1/auth/login", body={"username": leader, "password": password})["access_token"]
    sessions = call(base, "GET", "/api/v1/training-sessions?limit=1", token)["items"]
    if not sessions:
        fail("the demo leader has no session")
    session = sessions[0]["id"]

    # A PDF scan of a sign-in sheet, 700 KB.
    body = b"%PDF-1.4\n" + b"".join(b"%% sign-in line %06d of Ban Na Sai\n" % i for i in range(21_000)) + b"%%EOF\n"
    client = tus_client.TusClient(f"{base}/api/v1/uploads", headers={"Authorization": f"Bearer {token}"})
    first = Sha256Uploader(file_stream=io.BytesIO(body), client=client, chunk_size=256 * 1024,
                           metadata={"filename": "danh-sach-ky-ten.pdf"}, upload_checksum=True)
    first.upload_chunk()
    if first.offset != 256 * 1024:
        fail(f"offset after one chunk: {first.offset}")
    # A new uploader, as after the app was killed: it learns the offset from the server and goes on.
    resumed = Sha256Uploader(file_stream=io.BytesIO(body), url=first.url, client=client, chunk_size=256 * 1024,
                             upload_checksum=True)
    if resumed.offset != 256 * 1024:
        fail(f"the server reported offset {resumed.offset} to a resuming client")
    resumed.upload()
    if resumed.offset != len(body):
        fail(f"finished at {resumed.offset} of {len(body)}")
    upload_id = first.url.rstrip("/").rsplit("/", 1)[-1]
    attachment = call(base, "POST", f"/api/v1/training-sessions/{session}/attachments", token,
                      {"upload_id": upload_id, "kind": "attendance_sheet", "caption": "tuspy"})
    if attachment["bytes"] != len(body) or attachment["file_name"] != "danh-sach-ky-ten.pdf":
        fail(f"attachment: {attachment}")
    downloaded = call(base, "GET", attachment["links"]["download"], token, raw=True)
    if downloaded != body:
        fail("the downloaded file differs from the uploaded one")

    # A wrong checksum: tuspy reports the server's 460 and nothing is stored.
    wrong = WrongChecksumUploader(file_stream=io.BytesIO(body), client=client, chunk_size=256 * 1024,
                                  metadata={"filename": "x.pdf"}, upload_checksum=True)
    try:
        wrong.upload_chunk()
        fail("a wrong checksum was accepted")
    except TusCommunicationError as error:
        if error.status_code != 460:
            fail(f"a wrong checksum answered {error.status_code}, not 460")
    if wrong.get_offset() != 0:
        fail("bytes with a wrong checksum were stored")
    print(f"tus client check: {len(body)} bytes uploaded in chunks, resumed, attached, downloaded identical; "
          "wrong checksum refused with 460")


if __name__ == "__main__":
    main()
