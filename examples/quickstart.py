"""Python quickstart: import a CSV export, select segments, page through
customer keys, and load a pandas frame with the same rules. Run by the Python
tests (tests/python/test_examples.py)."""

import os
import tempfile

import pandas as pd

import tagindex

CSV = ("客户ID,高价值客户,兴趣,城市\n"
       "1001,1,\"电子产品,运动\",上海\n"
       "1002,0,运动,北京\n"
       "C1003,1,图书,上海\n"        # not an int64 key: rejected with its line
       "1004,是,电子产品,上海\n")

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "customers.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write(CSV)
    with tagindex.Index.open(os.path.join(tmp, "idx"), create_if_missing=True) as index:    # persistent
        report = index.import_csv(path, key="客户ID", key_kind="int64", tags=["高价值客户"],
                                  multi={"兴趣": "兴趣爱好类"}, categories=["城市"])
        print(f"imported {report.rows_imported} of {report.rows_read} rows")
        for bad in report.rejects:
            print("rejected", bad)
        index.checkpoint()
        seg = index.query("高价值客户 AND 电子产品 AND 城市 = 上海")
        print(len(seg), seg.keys().tolist())                       # 2 [1001, 1004]
        assert seg.keys().tolist() == [1001, 1004]
        assert [r.line for r in report.rejects] == [4]

df = pd.DataFrame({"user_id": [1, 2, "C3"], "vip": [True, False, True],
                   "tags": ["电子产品,运动", "", "运动"]})
small = tagindex.Index.from_dataframe(df, key="user_id", tags=["vip"], tag_column="tags")
print(small.count("vip AND 运动"), small.last_import.rejects[0])   # 1, row 2: ...
assert small.count("vip AND 运动") == 1

shop = tagindex.Index.demo(100_000)                                   # the demo shop
for text, purpose in tagindex.demo_queries()[:3]:
    print(f"{shop.count(text):>7,}  {text}  ({purpose})")
