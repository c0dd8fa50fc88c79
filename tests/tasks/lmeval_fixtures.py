"""A folder of lm-evaluation-harness task YAMLs in their own format, with local JSONL data.

Covers the four output types (``multiple_choice``, ``loglikelihood``,
``loglikelihood_rolling``, ``generate_until`` with a regex filter), a
``!function utils.process_docs`` helper beside the YAML, an ``include:`` chain
(``lmx_mc_b`` -> ``_mc_template.yaml`` -> ``_base_mc.yaml``) and a group
(``lmx_group``) aggregating accuracy over two tasks, weighted by size.
"""

from __future__ import annotations

import json
from pathlib import Path

MC = [("Which animal barks?", ["cat", "dog", "fish"], 1),
      ("What colour is the clear sky?", ["blue", "green", "red"], 0),
      ("How many legs has a spider?", ["six", "four", "eight"], 2),
      ("Which of these is a fruit?", ["apple", "chair", "stone"], 0),
      ("What do bees make?", ["milk", "honey", "silk"], 1),
      ("Where do fish live?", ["trees", "deserts", "water"], 2),
      ("Which season is coldest?", ["winter", "summer", "spring"], 0),
      ("What do we breathe?", ["sand", "air", "oil"], 1),
      ("Which planet do we live on?", ["Mars", "Venus", "Earth"], 2),
      ("What falls from rain clouds?", ["water", "bread", "glass"], 0)]
MC_B = [("The opposite of hot is", ["cold", "tall", "loud"], 0),
        ("The opposite of up is", ["left", "down", "fast"], 1),
        ("The opposite of day is", ["noon", "light", "night"], 2),
        ("The opposite of old is", ["new", "red", "wide"], 0),
        ("The opposite of open is", ["wet", "shut", "soft"], 1),
        ("The opposite of full is", ["big", "long", "empty"], 2)]
CLOZE = [("The king sat upon his", "throne"), ("She poured a cup of", "tea"),
         ("The ship sailed across the", "sea"), ("He read the last page of the", "book"),
         ("The bird built a", "nest"), ("They lit a fire to keep", "warm"),
         ("The moon shone over the quiet", "town"), ("We heard the church", "bells")]
DOCS = ["To be, or not to be, that is the question.",
        "The quality of mercy is not strained; it droppeth as the gentle rain from heaven "
        "upon the place beneath. It is twice blest: it blesseth him that gives and him that "
        "takes. 'Tis mightiest in the mightiest; it becomes the throned monarch better than "
        "his crown.",
        "All the world's a stage, and all the men and women merely players.",
        "Now is the winter of our discontent made glorious summer by this sun of York.",
        "A horse! a horse! my kingdom for a horse!",
        "Friends, Romans, countrymen, lend me your ears; I come to bury Caesar, not to praise "
        "him. The evil that men do lives after them; the good is oft interred with their bones."]
QA = [("What is two plus two?", "four"), ("What is the capital of France?", "Paris"),
      ("What colour is grass?", "green"), ("How many days are in a week?", "seven"),
      ("What is frozen water called?", "ice"), ("Which star warms the Earth?", "Sun"),
      ("What do cows drink?", "water"), ("What is the opposite of yes?", "no")]


def _jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def write_lmeval_tasks(folder: Path) -> Path:
    """Write the YAMLs, utils.py and data under ``folder``; returns it."""
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    mc = _jsonl(data / "mc.jsonl", [{"question": q, "choices": c, "label": a} for q, c, a in MC])
    mc_train = _jsonl(data / "mc_train.jsonl",
                      [{"question": q, "choices": c, "label": a} for q, c, a in MC_B[:3]])
    mc_b = _jsonl(data / "mc_b.jsonl", [{"question": q, "choices": c, "label": a}
                                        for q, c, a in MC_B])
    cloze = _jsonl(data / "cloze.jsonl", [{"context": c, "word": w} for c, w in CLOZE])
    docs = _jsonl(data / "docs.jsonl", [{"text": t} for t in DOCS])
    qa = _jsonl(data / "qa.jsonl", [{"question": q, "answer": a} for q, a in QA])
    (folder / "utils.py").write_text(
        "def process_docs(dataset):\n"
        "    # lm-eval passes a datasets.Dataset; tidy the question text\n"
        "    return dataset.map(lambda d: {'question': ' '.join(d['question'].split())})\n")
    (folder / "lmx_mc.yaml").write_text(f"""task: lmx_mc
dataset_path: json
dataset_kwargs:
  data_files:
    train: {mc_train}
    test: {mc}
training_split: train
test_split: test
output_type: multiple_choice
process_docs: !function utils.process_docs
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_choice: choices
doc_to_target: label
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
  - metric: acc_norm
    aggregation: mean
    higher_is_better: true
metadata:
  version: 2.0
""")
    (folder / "_base_mc.yaml").write_text("""dataset_path: json
output_type: multiple_choice
doc_to_choice: choices
doc_to_target: label
test_split: test
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1.0
""")
    (folder / "_mc_template.yaml").write_text("""include: _base_mc.yaml
doc_to_text: "{{question}}"
target_delimiter: " "
""")
    (folder / "lmx_mc_b.yaml").write_text(f"""include: _mc_template.yaml
task: lmx_mc_b
dataset_kwargs:
  data_files:
    test: {mc_b}
""")
    (folder / "lmx_cloze.yaml").write_text(f"""task: lmx_cloze
dataset_path: json
dataset_kwargs:
  data_files:
    test: {cloze}
test_split: test
output_type: loglikelihood
doc_to_text: "{{{{context}}}}"
doc_to_target: " {{{{word}}}}"
metric_list:
  - metric: perplexity
    aggregation: perplexity
    higher_is_better: false
  - metric: acc
    aggregation: mean
    higher_is_better: true
""")
    (folder / "lmx_ppl.yaml").write_text(f"""task: lmx_ppl
dataset_path: json
dataset_kwargs:
  data_files:
    test: {docs}
test_split: test
output_type: loglikelihood_rolling
doc_to_text: ""
doc_to_target: "{{{{text}}}}"
metric_list:
  - metric: word_perplexity
  - metric: byte_perplexity
  - metric: bits_per_byte
""")
    (folder / "lmx_gen.yaml").write_text(f"""task: lmx_gen
dataset_path: json
dataset_kwargs:
  data_files:
    test: {qa}
test_split: test
output_type: generate_until
doc_to_text: "Q: {{{{question}}}}\\nA:"
doc_to_target: "{{{{answer}}}}"
generation_kwargs:
  until: ["\\n", "."]
  max_gen_toks: 6
  do_sample: false
filter_list:
  - name: first-word
    filter:
      - function: regex
        regex_pattern: "(\\\\w+)"
      - function: take_first
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
    ignore_case: true
""")
    (folder / "lmx_group.yaml").write_text("""group: lmx_group
task:
  - lmx_mc
  - lmx_mc_b
aggregate_metric_list:
  - metric: acc
    aggregation: mean
    weight_by_size: true
metadata:
  version: 1.0
""")
    return folder


ALL_TASKS = ["lmx_mc", "lmx_mc_b", "lmx_cloze", "lmx_ppl", "lmx_gen"]
