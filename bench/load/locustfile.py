"""Load profile for bench/load_bench.py: people browsing, searching and bidding on Guild.

Run by ``bench/load_bench.py`` (which seeds the data, starts gunicorn and writes
$GUILD_LOAD_DATA); by hand: ``GUILD_LOAD_DATA=data.json locust -f bench/load/locustfile.py
--host http://127.0.0.1:8000``. Requests are named by page kind ("tender page", "search"),
so the figures are per page, not per URL. A request fails when it answers >= 400, when a
POST that should redirect does not, or when a page lacks what it must show; refusals the
app is right to give (a second live bid for the same party and tender) are not failures.
"""

import json
import os
import random
import re
from pathlib import Path

from locust import HttpUser, between, task

DATA = json.loads(Path(os.environ["GUILD_LOAD_DATA"]).read_text("utf-8"))
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                  r'name="csrf_token" value="([^"]+)"')
PARTY = re.compile(r'<option[^>]*value="(org:\d+)"')
VERSION = re.compile(r'name="version" type="hidden" value="(\d+)"|name="version" value="(\d+)"')
SHARE = re.compile(r'name="(members-\d+-(?:organisation_id|role|work_share))"[^>]*'
                   r'value="([^"]*)"')
BID_ID = re.compile(r"/bids/(\d+)/edit")


def csrf_token(html: str) -> str:
    m = CSRF.search(html)
    return (m.group(1) or m.group(2)) if m else ""


def words() -> str:
    n = random.choices((1, 2, 3), weights=(5, 4, 1))[0]
    return " ".join(random.sample(DATA["words"], n))


class Browser(HttpUser):
    """Anonymous visitors: home, directory, tenders, organisations, search."""

    weight = 4
    wait_time = between(1, 4)

    @task(2)
    def home(self):
        self.client.get("/", name="home")

    @task(3)
    def directory(self):
        if random.random() < 0.5:
            self.client.get("/businesses", name="directory")
        else:
            self.client.get(f"/businesses?page={random.randint(2, 50)}", name="directory page n")

    @task(3)
    def tender_list(self):
        if random.random() < 0.5:
            self.client.get("/tenders", name="tender list")
        else:
            self.client.get(f"/tenders?page={random.randint(2, 20)}", name="tender list page n")

    @task(4)
    def tender_page(self):
        self.client.get(f"/tenders/{random.choice(DATA['tenders'])}",
                        name="tender page (with matches)")

    @task(4)
    def organisation_page(self):
        self.client.get(f"/orgs/{random.choice(DATA['orgs'])}", name="organisation page")

    @task(4)
    def search(self):
        self.client.get("/search", params={"q": words()}, name="search")

    @task(1)
    def directory_search(self):
        self.client.get("/businesses", params={"q": random.choice(DATA["words"])},
                        name="directory search")


class Bidder(Browser):
    """Owners of demo firms: they browse too, and start and edit draft bids."""

    weight = 1
    wait_time = between(1, 4)

    def on_start(self):
        self.bids: list[int] = []
        r = self.client.get("/login", name="login form")
        with self.client.post("/login", name="login (POST)", allow_redirects=False,
                              catch_response=True,
                              data={"email": random.choice(DATA["bidders"]),
                                    "password": DATA["password"],
                                    "csrf_token": csrf_token(r.text)}) as resp:
            if resp.status_code != 302:
                resp.failure(f"login answered {resp.status_code}")

    @task(3)
    def start_bid(self):
        tender = random.choice(DATA["tenders"])
        r = self.client.get(f"/tenders/{tender}/bids/new", name="bid: start form")
        party = PARTY.search(r.text)
        if r.status_code != 200 or not party:
            return
        with self.client.post(f"/tenders/{tender}/bids/new", name="bid: start (POST)",
                              allow_redirects=False, catch_response=True,
                              data={"party": party.group(1),
                                    "csrf_token": csrf_token(r.text)}) as resp:
            if resp.status_code == 302 and BID_ID.search(resp.headers.get("Location", "")):
                self.bids.append(int(BID_ID.search(resp.headers["Location"]).group(1)))
            elif resp.status_code == 200 and "already has a live bid" in resp.text:
                resp.success()  # this firm bid on that tender before: the app says so
            else:
                resp.failure(f"start bid answered {resp.status_code}")

    @task(3)
    def edit_bid(self):
        if not self.bids:
            return
        bid = random.choice(self.bids)
        r = self.client.get(f"/bids/{bid}/edit", name="bid: edit form")
        if r.status_code != 200:
            return
        version = VERSION.search(r.text)
        data = {"csrf_token": csrf_token(r.text),
                "version": version.group(1) or version.group(2),
                "price": f"{random.randint(10, 900) * 1000}.00", "currency": "GBP",
                "proposal": "Our team will deliver the works on time: " + words()}
        fields = dict(SHARE.findall(r.text))  # a firm's own draft: the firm alone, 100 %
        data.update(fields)
        with self.client.post(f"/bids/{bid}/edit", name="bid: save (POST)", data=data,
                              allow_redirects=False, catch_response=True) as resp:
            if resp.status_code != 302:
                resp.failure(f"save bid answered {resp.status_code}")

    @task(1)
    def my_bids(self):
        self.client.get("/bids", name="my bids")
