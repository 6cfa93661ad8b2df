"""A member's key pair is created on the first fetch of their actor document; concurrent first fetches
(two allies at once) all succeed and agree on one key, while other writes go on."""

import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from coopol.extensions import db
from coopol.federation.models import MemberKey

AP = {"Accept": "application/activity+json"}


def test_concurrent_first_fetches_share_one_key(make_app, create_member, token_for):
    app = make_app("keys")
    create_member("alice", target_app=app)
    headers = token_for("alice", target_app=app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        def fetch(_):
            return requests.get(f"{base}/u/alice", headers=AP, timeout=30)

        def write(index):
            return requests.patch(f"{base}/api/v1/me", json={"bio": f"bio {index}"}, headers=headers, timeout=30)

        with ThreadPoolExecutor(max_workers=12) as pool:
            fetches = [pool.submit(fetch, i) for i in range(8)]
            writes = [pool.submit(write, i) for i in range(4)]
            fetched = [f.result() for f in fetches]
            written = [w.result() for w in writes]
    finally:
        server.shutdown()
        thread.join(timeout=5)

    assert [r.status_code for r in fetched] == [200] * 8, [r.text[:200] for r in fetched]
    assert [r.status_code for r in written] == [200] * 4
    assert len({r.json()["publicKey"]["publicKeyPem"] for r in fetched}) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(MemberKey.member_id))) == 1
