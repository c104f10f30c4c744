"""Sources and candidates shared by the reranking and filtering tests."""
EN = ["The cat sat on the mat.", "I like green apples.", "The weather is nice today.",
      "Where is the train station?"]
CANDIDATES = [
    ["O gato sentou no tapete.", "O gato sentou-se no tapete.", "Gato tapete.", "The cat sat."],
    ["Eu gosto de maçãs verdes.", "Gosto de maçãs verdes.", "Eu gosto maçãs.", "Eu gosto de maçãs verdes."],
    ["O tempo está bom hoje.", "Hoje o tempo está bom.", "Tempo bom.", "O clima está agradável hoje."],
    ["Onde fica a estação de trem?", "Onde é a estação ferroviária?", "Estação?", "Onde?"],
]
