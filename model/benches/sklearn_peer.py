"""scikit-learn's RandomForest on streamlab's split, timed like benches/predict.rs.

Prints three lines: single-row predict, batch rows/s on one core, model load (pickle)."""
import io, pickle, sys, time

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

data = pd.read_csv(sys.argv[1])
x, y = data.drop(columns=["class"]), data["class"]
x_train, x_test, y_train, _ = train_test_split(x, y, test_size=0.2, stratify=y, random_state=42)
model = RandomForestClassifier(n_estimators=100, random_state=42, n_jobs=1).fit(x_train, y_train)

def per_call(budget, f):
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < budget or calls < 3:
        f()
        calls += 1
    return (time.perf_counter() - start) / calls

rows = [x_test.iloc[[i]] for i in range(200)]
i = 0
def one():
    global i
    model.predict_proba(rows[i % len(rows)])
    i += 1
single = per_call(2, one)
batch = per_call(3, lambda: model.predict_proba(x_test))
blob = pickle.dumps(model)
load = per_call(2, lambda: pickle.loads(blob))
print(f"{single * 1e6:.0f} µs")
print(f"{len(x_test) / batch:.0f} rows/s")
print(f"{load * 1e3:.1f} ms")
