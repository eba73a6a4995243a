"""The smoke flow with nothing but the client openapi-python-client generated from
openapi/openapi.json: submit a CSV and a JSON batch, follow them to the end, list the review
items, approve the passing ones, export JSON, download the Markdown zip, read analytics and
usage, create and revoke an API key. Every answer must be the documented type.

    python smoke.py BASE_URL API_KEY     (the generated package `bacowr_client` on sys.path)
"""

import io
import sys
import time
import zipfile

from bacowr_client import AuthenticatedClient
from bacowr_client.api.analytics import get_cost_analytics, get_job_analytics
from bacowr_client.api.api_keys import create_api_key, list_api_keys, revoke_api_key
from bacowr_client.api.batches import (
    download_batch_export,
    export_batch,
    get_batch,
    list_batch_jobs,
    submit_batch,
)
from bacowr_client.api.review import bulk_review_items, list_review_items
from bacowr_client.api.usage import get_usage
from bacowr_client.models import (
    ApiKeyList,
    BatchStatus,
    BatchView,
    BulkReviewBody,
    BulkReviewResult,
    CostAnalytics,
    CreateApiKey,
    CreatedApiKey,
    ExportDocument,
    Format,
    JobAnalytics,
    JobPage,
    LinkInput,
    ReviewDecision,
    ReviewItemPage,
    Scope,
    SubmitBatch,
    UsageView,
)
from bacowr_client.types import File

CSV = (
    "publisher,target,anchor,language\n"
    "bloggen.se,https://client.se/cyklar,bästa cyklarna,sv\n"
    "techblog.example.com,https://client.example.com/e-bikes,electric bikes for commuting,en\n"
    "reisen.de,https://kunde.de/bahn,Bahnreisen in Europa,de\n"
)
UNFINISHED = {BatchStatus.QUEUED, BatchStatus.RUNNING}


def expect(answer, kind, what):
    """The answer parsed into the documented type, or the run fails naming what came back."""
    if not isinstance(answer.parsed, kind):
        sys.exit(f"{what}: HTTP {answer.status_code}, wanted {kind.__name__}: {answer.content[:400]!r}")
    return answer.parsed


def follow(client, batch_id, timeout=180.0):
    deadline = time.monotonic() + timeout
    while True:
        batch = expect(get_batch.sync_detailed(batch_id, client=client), BatchView, "get_batch")
        if batch.status not in UNFINISHED and batch.counts.queued == 0 and batch.counts.running == 0:
            return batch
        if time.monotonic() > deadline:
            sys.exit(f"batch {batch_id} still {batch.status} after {timeout} s")
        time.sleep(0.5)


def review_passing(client, batch_id):
    items, cursor = [], None
    while True:
        page = expect(
            list_review_items.sync_detailed(batch_id, client=client, limit=2, **({"cursor": cursor} if cursor else {})),
            ReviewItemPage,
            "list_review_items",
        )
        items += page.items
        cursor = page.next_cursor
        if not cursor:
            break
    passing = [i.id for i in items if i.qc.passed]
    if not passing:
        sys.exit(f"batch {batch_id}: no review item passed QC ({len(items)} items)")
    result = expect(
        bulk_review_items.sync_detailed(
            batch_id, client=client, body=BulkReviewBody(decision=ReviewDecision.APPROVE, item_ids=passing)
        ),
        BulkReviewResult,
        "bulk_review_items",
    )
    assert len(result.applied) == len(passing), result
    return len(items), len(passing)


def main(base_url, key):
    client = AuthenticatedClient(base_url=base_url, token=key, raise_on_unexpected_status=True)

    csv_batch = expect(
        submit_batch.sync_detailed(
            client=client,
            body=File(payload=io.BytesIO(CSV.encode()), mime_type="text/csv"),
            idempotency_key="smoke-python-csv",
        ),
        BatchView,
        "submit_batch (CSV)",
    )
    json_batch = expect(
        submit_batch.sync_detailed(
            client=client,
            body=SubmitBatch(
                name="python smoke",
                links=[
                    LinkInput(publisher_domain="minblogg.no", target_url="https://kunde.no/sykler", anchor_text="gode sykler", language="nb"),
                    LinkInput(publisher_domain="gardening.co.uk", target_url="https://shop.co.uk/tools", anchor_text="garden tools"),
                ],
            ),
        ),
        BatchView,
        "submit_batch (JSON)",
    )
    assert csv_batch.total_jobs == 3 and json_batch.total_jobs == 2

    for batch in (csv_batch, json_batch):
        done = follow(client, batch.id)
        jobs = expect(list_batch_jobs.sync_detailed(batch.id, client=client), JobPage, "list_batch_jobs")
        assert len(jobs.items) == batch.total_jobs, jobs
        total, approved = review_passing(client, batch.id)
        print(f"python: {batch.id} {done.status}: {total} review items, {approved} approved")

    document = expect(
        export_batch.sync_detailed(csv_batch.id, client=client, format_=Format.JSON), ExportDocument, "export_batch json"
    )
    assert document.items and all(item.review.status == "approved" for item in document.items), document
    archive = expect(
        download_batch_export.sync_detailed(csv_batch.id, Format.MARKDOWN, client=client), File, "download_batch_export markdown"
    )
    names = zipfile.ZipFile(archive.payload).namelist()
    assert len(names) == len(document.items) and all(n.endswith(".md") for n in names), names

    expect(get_cost_analytics.sync_detailed(client=client), CostAnalytics, "get_cost_analytics")
    expect(get_job_analytics.sync_detailed(client=client), JobAnalytics, "get_job_analytics")
    expect(get_usage.sync_detailed(client=client), UsageView, "get_usage")

    created = expect(
        create_api_key.sync_detailed(client=client, body=CreateApiKey(name="python smoke", scopes=[Scope.BATCHESREAD])),
        CreatedApiKey,
        "create_api_key",
    )
    reader = AuthenticatedClient(base_url=base_url, token=created.api_key, raise_on_unexpected_status=True)
    expect(get_batch.sync_detailed(csv_batch.id, client=reader), BatchView, "get_batch with the new key")
    revoked = revoke_api_key.sync_detailed(created.id, client=client)
    assert revoked.status_code in (200, 204), revoked
    refused = get_batch.sync_detailed(csv_batch.id, client=reader)
    assert refused.status_code == 401, refused
    expect(list_api_keys.sync_detailed(client=client), ApiKeyList, "list_api_keys")
    print(f"python: smoke flow passed ({len(document.items)} articles exported, {len(names)} in the zip)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
