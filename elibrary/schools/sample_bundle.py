"""Writing OneRoster 1.2 Japan Profile CSV bundles: made-up cities for tests, benchmarks and demonstrations.

``city_bundle(schools=20, pupils=3000, year=2026)`` makes a zip like a board of education's export: one
district, elementary and junior high schools, homeroom classes of up to 35, a teacher per class, pupils
with Japanese names (kanji and kana, some with 髙/﨑), 出席番号 in ``metadata.jp.ShussekiNo``.
"""
from __future__ import annotations

import csv
import io
import random
import zipfile
from dataclasses import dataclass, field

FAMILY = (("佐藤", "さとう"), ("鈴木", "すずき"), ("高橋", "たかはし"), ("髙橋", "たかはし"), ("田中", "たなか"), ("伊藤", "いとう"),
          ("渡辺", "わたなべ"), ("山本", "やまもと"), ("中村", "なかむら"), ("小林", "こばやし"), ("加藤", "かとう"), ("吉田", "よしだ"),
          ("山田", "やまだ"), ("佐々木", "ささき"), ("山口", "やまぐち"), ("松本", "まつもと"), ("井上", "いのうえ"), ("木村", "きむら"),
          ("林", "はやし"), ("斎藤", "さいとう"), ("清水", "しみず"), ("山﨑", "やまさき"), ("森", "もり"), ("池田", "いけだ"))
GIVEN = (("陽翔", "はると"), ("蓮", "れん"), ("湊", "みなと"), ("蒼", "あおい"), ("樹", "いつき"), ("大和", "やまと"), ("悠真", "ゆうま"),
         ("陽葵", "ひまり"), ("凛", "りん"), ("結菜", "ゆいな"), ("芽依", "めい"), ("紬", "つむぎ"), ("さくら", "さくら"), ("葵", "あおい"),
         ("結衣", "ゆい"), ("心春", "こはる"), ("翔太", "しょうた"), ("美咲", "みさき"), ("健太", "けんた"), ("千尋", "ちひろ"))
HEADERS = {
    "orgs": ("sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"),
    "academicSessions": ("sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate", "parentSourcedId", "schoolYear"),
    "classes": ("sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode", "classType", "location",
                "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods"),
    "users": ("sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds", "givenName", "familyName", "middleName",
              "identifier", "email", "sms", "phone", "agentSourcedIds", "grades", "password", "userMasterIdentifier", "preferredGivenName",
              "preferredMiddleName", "preferredFamilyName", "primaryOrgSourcedId", "pronouns", "metadata.jp.kanaGivenName",
              "metadata.jp.kanaFamilyName", "metadata.jp.kanaMiddleName", "metadata.jp.homeClass"),
    "enrollments": ("sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId", "role", "primary",
                    "beginDate", "endDate", "metadata.jp.ShussekiNo", "metadata.jp.PublicFlg"),
}
STAMP = "2026-03-20T09:00:00.000Z"


@dataclass
class Bundle:
    """The rows of a bundle, by file; ``modes`` is the manifest (bulk / delta / absent)."""

    rows: dict[str, list[dict]] = field(default_factory=lambda: {name: [] for name in HEADERS})
    modes: dict[str, str] = field(default_factory=lambda: dict.fromkeys(HEADERS, "bulk"))

    def to_zip(self, *, leave_out: tuple[str, ...] = ()) -> bytes:
        """The zip (files named in ``leave_out`` are left out while the manifest still lists them)."""
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            manifest = [("propertyName", "value"), ("manifest.version", "1.0"), ("oneroster.version", "1.2")]
            manifest += [(f"file.{name}", mode) for name, mode in self.modes.items()]
            manifest += [("source.systemName", "さくら市校務支援システム"), ("source.systemCode", "sakura-city")]
            archive.writestr("manifest.csv", _csv(manifest))
            for name, rows in self.rows.items():
                if self.modes[name] == "absent" or name in leave_out:
                    continue
                archive.writestr(f"{name}.csv", _csv([HEADERS[name]] + [tuple(row.get(h, "") for h in HEADERS[name]) for row in rows]))
        return out.getvalue()


def _csv(rows) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(rows)
    return text.getvalue().encode("utf-8")


def city_bundle(*, schools: int = 20, pupils: int = 3000, year: int = 2026, seed: int = 13, class_size: int = 35) -> Bundle:
    """A city's bulk bundle: ``schools`` schools (every fourth a junior high) sharing ``pupils`` pupils."""
    rng = random.Random(seed)
    bundle = Bundle()
    bundle.rows["orgs"].append(dict(sourcedId="org-city", status="active", dateLastModified=STAMP, name="さくら市教育委員会", type="district",
                                    identifier="city"))
    session = f"as-{year}"
    bundle.rows["academicSessions"].append(dict(sourcedId=session, status="active", dateLastModified=STAMP, title=f"{year}年度", type="schoolYear",
                                               startDate=f"{year}-04-01", endDate=f"{year + 1}-03-31", schoolYear=str(year)))
    per_school = [pupils // schools + (1 if i < pupils % schools else 0) for i in range(schools)]
    counter = 0
    for index in range(schools):
        junior = index % 4 == 3
        code, org = f"{'2' if junior else '1'}{index + 1:03d}", f"org-{index + 1:03d}"
        name = f"さくら市立第{index + 1}{'中学校' if junior else '小学校'}"
        bundle.rows["orgs"].append(dict(sourcedId=org, status="active", dateLastModified=STAMP, name=name, type="school", identifier=code,
                                        parentSourcedId="org-city"))
        grades = 3 if junior else 6
        for grade in range(1, grades + 1):
            count = per_school[index] // grades + (1 if grade <= per_school[index] % grades else 0)
            for klass in range(1, (count + class_size - 1) // class_size + 1):
                class_id = f"class-{code}-{grade}-{klass}"
                bundle.rows["classes"].append(dict(sourcedId=class_id, status="active", dateLastModified=STAMP, title=f"{grade}年{klass}組",
                                                   grades=f"{'J' if junior else 'P'}{grade}", classCode=f"{grade}-{klass}", classType="homeroom",
                                                   schoolSourcedId=org, termSourcedIds=session))
                teacher = f"t-{code}-{grade}-{klass}"
                add_user(bundle, rng, teacher, org, class_id, role="teacher")
                in_class = min(class_size, count - (klass - 1) * class_size)
                for number in range(1, in_class + 1):
                    counter += 1
                    add_user(bundle, rng, f"u-{counter:06d}", org, class_id, number=number, grade=f"{'J' if junior else 'P'}{grade}")
    return bundle


def add_user(bundle: Bundle, rng: random.Random, sid: str, org: str, class_id: str, *, role: str = "student", number: int | None = None,
             grade: str = "") -> None:
    """A user with a homeroom enrolment (a pupil with 出席番号, or the class teacher)."""
    family, given = rng.choice(FAMILY), rng.choice(GIVEN)
    bundle.rows["users"].append(dict(sourcedId=sid, status="active", dateLastModified=STAMP, enabledUser="true", username=f"{sid}@sakura.ed.jp",
                                     givenName=given[0], familyName=family[0], email=f"{sid}@sakura.ed.jp", grades=grade, primaryOrgSourcedId=org,
                                     **{"metadata.jp.kanaGivenName": given[1], "metadata.jp.kanaFamilyName": family[1]}))
    bundle.rows["enrollments"].append(dict(sourcedId=f"e-{sid}-{class_id}", status="active", dateLastModified=STAMP, classSourcedId=class_id,
                                           schoolSourcedId=org, userSourcedId=sid, role=role, primary="true",
                                           **{"metadata.jp.ShussekiNo": "" if number is None else str(number)}))
